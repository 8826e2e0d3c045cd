"""`manage.py export_activity_logs --lab ID --since DATE --until DATE
--format csv|jsonl [--output FILE]`: a lab's audit trail for inspectors.

Includes the lab's descendant labs, whole days in the lab's time zone, oldest
first, each entry with its place in the hash chain (sequence and hash) so
an inspector can check it against `verify_activity_logs`.
"""

import csv
import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.activity_log.models import ActivityLog, ActivityLogSeal
from core.activity_log.reading import day_bounds
from core.tenancy import trusted_scope

COLUMNS = (
    "id", "created_at", "lab_id", "model_label", "instance_id", "action",
    "actor_id", "actor_name", "actor_role", "actor_kind", "reason", "message",
    "changes", "request_id", "client_ip", "sequence", "entry_hash",
)  # fmt: skip
CHUNK_SIZE = 2000


class Command(BaseCommand):
    help = "Export a lab's activity log (and its child labs') as CSV or JSON lines."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--lab", type=int, required=True)
        day = dt.date.fromisoformat
        parser.add_argument(
            "--since", type=day, required=True, help="First day (lab's time zone)."
        )
        parser.add_argument(
            "--until", type=day, required=True, help="Last day, included."
        )
        parser.add_argument("--format", choices=("csv", "jsonl"), default="csv")
        parser.add_argument(
            "--output", help="A file to write; standard output if absent."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["until"] < options["since"]:
            raise CommandError("--until is before --since.")
        start, end = day_bounds(options["since"], options["until"], options["lab"])
        entries = ActivityLog.objects.filter(
            lab_id__in=trusted_scope(options["lab"]).lab_ids,
            created_at__gte=start,
            created_at__lt=end,
        ).order_by("id")
        if options["output"]:
            with open(options["output"], "w", newline="", encoding="utf-8") as out:
                count = _write(out, options["format"], _rows(entries))
        else:
            self.stdout.ending = ""  # the writers end their own lines
            count = _write(self.stdout, options["format"], _rows(entries))
        self.stderr.write(f"exported {count} entries")


def _rows(entries: Any) -> Iterator[dict[str, Any]]:
    chunk: list[ActivityLog] = []
    for entry in entries.iterator(chunk_size=CHUNK_SIZE):
        chunk.append(entry)
        if len(chunk) == CHUNK_SIZE:
            yield from _with_seals(chunk)
            chunk = []
    yield from _with_seals(chunk)


def _with_seals(chunk: list[ActivityLog]) -> Iterator[dict[str, Any]]:
    seals = {
        seal.entry_id: seal
        for seal in ActivityLogSeal.objects.filter(entry_id__in=[e.id for e in chunk])
    }
    for entry in chunk:
        seal = seals.get(entry.id)
        row = {name: getattr(entry, name) for name in COLUMNS[:15]}
        row["created_at"] = entry.created_at.isoformat()
        row["sequence"] = seal.sequence if seal else None
        row["entry_hash"] = seal.entry_hash if seal else None
        yield row


def _write(out: Any, fmt: str, rows: Iterator[dict[str, Any]]) -> int:
    count = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {**row, "changes": json.dumps(row["changes"], sort_keys=True)}
            )
            count += 1
    else:
        for row in rows:
            out.write(json.dumps(row, sort_keys=True, default=str) + "\n")
            count += 1
    return count
