"""`manage.py export_activity_logs --lab ID --since DATE --until DATE
[--format jsonl|csv] [--output FILE]`: a lab's audit trail for inspectors.

Includes the lab's descendant labs, whole days in the lab's time zone, each
lab's chain as a contiguous run of sealed entries (pending entries are
sealed first); see core/activity_log/export.py.

- `jsonl` (the default) verifies on its own: with `--output FILE` a
  manifest is written beside it (`FILE.manifest.json`), and
  `tools/verify_audit_export.py FILE` (Python, standard library only) or
  `node tools/verify_audit_export.mjs FILE` checks every link without this
  project (docs/audit-trail.md).
- `csv` is the same entries for people: one row per entry, every hashed
  field, `changes` as JSON text. It has no manifest.
"""

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.activity_log.export import (
    Export,
    plan_export,
    write_lines,
    write_with_manifest,
)
from core.activity_log.hashing import HASHED_FIELDS
from core.activity_log.reading import day_bounds
from core.tenancy import trusted_scope

CSV_COLUMNS = (
    "chain", "sequence", "format", "previous_hash", "entry_hash", *HASHED_FIELDS,
)  # fmt: skip


class Command(BaseCommand):
    help = "Export a lab's activity log (and its child labs') as JSON lines or CSV."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--lab", type=int, required=True)
        day = dt.date.fromisoformat
        parser.add_argument(
            "--since", type=day, required=True, help="First day (lab's time zone)."
        )
        parser.add_argument(
            "--until", type=day, required=True, help="Last day, included."
        )
        parser.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
        parser.add_argument(
            "--output", help="A file to write (and, for jsonl, its manifest)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        since, until, lab = options["since"], options["until"], options["lab"]
        if until < since:
            raise CommandError("--until is before --since.")
        start, end = day_bounds(since, until, lab)
        if start is None or end is None:  # both days are given: never
            raise CommandError("--since and --until are both needed.")
        export = plan_export(lab, trusted_scope(lab).lab_ids, since, until, start, end)
        output = options["output"]
        if options["format"] == "csv":
            self._write_csv(export, output)
        elif output:
            manifest = write_with_manifest(export, Path(output))
            self.stderr.write(f"manifest: {manifest}")
        else:
            self.stdout.ending = ""  # the writer ends its own lines
            write_lines(export, self.stdout)
            self.stderr.write("no manifest: it is written only with --output")
        self.stderr.write(f"exported {export.count} entries")

    def _write_csv(self, export: Export, output: str | None) -> None:
        if output:
            with open(output, "w", newline="", encoding="utf-8") as out:
                _csv(export, out)
        else:
            self.stdout.ending = ""
            _csv(export, self.stdout)


def _csv(export: Export, out: Any) -> None:
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for line in export.lines():
        entry = line["entry"] or {}
        row = {name: line[name] for name in CSV_COLUMNS[:5]}
        row.update({name: entry.get(name) for name in HASHED_FIELDS})
        row["changes"] = json.dumps(entry.get("changes"), ensure_ascii=False)
        writer.writerow(row)
