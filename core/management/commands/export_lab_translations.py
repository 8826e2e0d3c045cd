"""`manage.py export_lab_translations --lab ID [--language xx] > file.csv`:
a lab's own report-text overrides as CSV, for a translator to edit and
`import_lab_translations` to load back.

Columns `key,language,text`, UTF-8, one row per override of that lab only
(not its parents' or children's), sorted by key and language. A lab without
overrides gives just the header, which is also the template to start from.
"""

import csv
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.models.translation import LabTranslation
from core.tenancy.hierarchy import lab_model
from core.utils.translation import check_language

#: The CSV header, in order; the import expects exactly these columns.
COLUMNS = ("key", "language", "text")


class Command(BaseCommand):
    help = "Export a lab's report-text overrides as CSV (key,language,text)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--lab", type=int, required=True, help="The lab's id.")
        parser.add_argument(
            "--language", help="Only this language (a code of settings.LANGUAGES)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        lab_id: int = options["lab"]
        if not lab_model().objects.filter(pk=lab_id).exists():
            raise CommandError(f"There is no lab with id {lab_id}.")
        rows = LabTranslation.objects.filter(lab_id=lab_id)
        if options["language"]:
            try:
                rows = rows.filter(language=check_language(options["language"]))
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
        self.stdout.ending = ""  # the CSV writer ends its own lines
        writer = csv.writer(self.stdout)
        writer.writerow(COLUMNS)
        count = 0
        for row in rows.order_by("key", "language").values_list(*COLUMNS):
            writer.writerow(row)
            count += 1
        self.stderr.write(f"exported {count} overrides of lab {lab_id}")
