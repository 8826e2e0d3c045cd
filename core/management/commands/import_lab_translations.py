"""`manage.py import_lab_translations --lab ID file.csv`: load a lab's
report-text overrides from CSV (as written by `export_lab_translations`).

- The file is UTF-8 CSV with the header `key,language,text` (any column
  order); a spreadsheet's byte-order mark and blank rows are accepted.
- Every row is checked before anything is written, with the model's own
  rules: a known key, a language of settings.LANGUAGES, a text that is not
  blank and keeps the default's placeholders, no (key, language) twice. Any
  problem aborts the whole import and every problem is reported with its row
  number (row 1 is the header, as in a spreadsheet).
- Then, in one transaction, each row creates or updates the lab's override
  (activity-logged as the import, with the file name as the reason). A row
  equal to the stored text is left alone, so importing the same file again
  changes nothing. Overrides absent from the file are kept.

The rows go to the lab given by --lab, so a file exported from one lab can
seed another.
"""

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from core.management.commands.export_lab_translations import COLUMNS
from core.models.translation import LabTranslation
from core.tenancy.hierarchy import lab_model
from core.utils.activity_log.context import Actor, ActorKind, acting_as

#: Who the activity log names for changes made by this command.
IMPORT_ACTOR = Actor(
    id="command:import_lab_translations",
    name="import_lab_translations",
    role="",
    kind=ActorKind.SYSTEM,
)


@dataclass
class ImportCounts:
    """What an import did, e.g. `ImportCounts(created=2, updated=1, unchanged=9)`."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0


class Command(BaseCommand):
    help = "Import a lab's report-text overrides from CSV (key,language,text)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--lab", type=int, required=True, help="The lab's id.")
        parser.add_argument("file", help="The CSV file to import.")

    def handle(self, *args: Any, **options: Any) -> None:
        lab_id: int = options["lab"]
        path = Path(options["file"])
        if not lab_model().objects.filter(pk=lab_id).exists():
            raise CommandError(f"There is no lab with id {lab_id}.")
        rows, errors = _read(path, lab_id)
        if errors:
            raise CommandError(
                f"Nothing was imported from {path.name}; fix these rows and "
                "import the file again:\n" + "\n".join(errors)
            )
        with acting_as(IMPORT_ACTOR), transaction.atomic():
            counts = _write(lab_id, rows, reason=f"Imported from {path.name}")
        self.stdout.write(
            f"lab {lab_id}: {counts.created} created, {counts.updated} updated, "
            f"{counts.unchanged} unchanged"
        )


def _read(path: Path, lab_id: int) -> tuple[list[LabTranslation], list[str]]:
    """The checked rows of the file as unsaved instances, and the problems."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return _check(csv.reader(handle, strict=True), lab_id)
    except FileNotFoundError as exc:
        raise CommandError(f"There is no file {path}.") from exc
    except UnicodeDecodeError as exc:
        raise CommandError(
            f"{path.name} is not UTF-8 text (byte {exc.start} cannot be read); "
            "save it as 'CSV UTF-8' and import it again."
        ) from exc


def _check(
    reader: Iterable[list[str]], lab_id: int
) -> tuple[list[LabTranslation], list[str]]:
    lines = iter(reader)
    header = [cell.strip().lower() for cell in next(lines, [])]
    if sorted(header) != sorted(COLUMNS):
        found = ",".join(header) or "nothing"
        return [], [f"row 1: the header is {found}; expected {','.join(COLUMNS)}."]
    position = {name: header.index(name) for name in COLUMNS}
    rows: list[LabTranslation] = []
    errors: list[str] = []
    first_row: dict[tuple[str, str], int] = {}
    number = 1
    try:
        for number, cells in enumerate(lines, start=2):
            if not any(cell.strip() for cell in cells):
                continue  # a blank row, as spreadsheets leave at the end
            if len(cells) != len(COLUMNS):
                errors.append(
                    f"row {number}: {len(cells)} values; expected {len(COLUMNS)} "
                    "(put a text that contains a comma in double quotes)."
                )
                continue
            key, language, text = (cells[position[name]] for name in COLUMNS)
            row = LabTranslation(
                lab_id=lab_id, key=key.strip(), language=language.strip(), text=text
            )
            errors.extend(f"row {number}: {problem}" for problem in _problems(row))
            earlier = first_row.setdefault((row.key, row.language), number)
            if earlier != number:
                errors.append(
                    f"row {number}: {row.key} in {row.language} is already on "
                    f"row {earlier}; keep one of them."
                )
            rows.append(row)
    except csv.Error as exc:
        errors.append(f"row {number + 1}: the CSV is malformed ({exc}).")
    return rows, errors


def _problems(row: LabTranslation) -> list[str]:
    """The model's validation errors for `row`, as "field: message"; but
    that the lab already has this key and language, which the import
    updates rather than duplicates."""
    try:
        row.full_validate(created=True, update_fields=None)
    except ValidationError as exc:
        return [
            f"{field}: {message}"
            for field, errors in exc.error_dict.items()
            for error in errors
            if error.code not in ("unique", "unique_together")
            for message in error.messages
        ]
    return []


def _write(lab_id: int, rows: list[LabTranslation], reason: str) -> ImportCounts:
    """Create or update each row's override (inside the caller's transaction)."""
    counts = ImportCounts()
    stored = {
        (row.key, row.language): row
        for row in LabTranslation.objects.select_for_update().filter(lab_id=lab_id)
    }
    for row in rows:
        current = stored.get((row.key, row.language))
        if current is None:
            row.save(reason=reason)
            counts.created += 1
        elif current.text == row.text.strip():
            counts.unchanged += 1
        else:
            current.text = row.text
            current.save(reason=reason)
            counts.updated += 1
    return counts
