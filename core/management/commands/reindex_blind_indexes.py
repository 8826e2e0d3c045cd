"""`manage.py reindex_blind_indexes`: rewrite global blind indexes per lab.

Blind indexes used to be global: the same phone number had the same index
in every lab, so anyone reading the database could link patients across
labs. They are now computed with a key of the row's lab
(core/utils/blind_index.py). This rewrites every row that still holds a
global (v1) index with its lab's (v2) one, model by model (every model using
EncryptedFieldsMixin, or those named), in batches of `--batch-size` rows,
each batch in its own transaction, printing progress ("patients.patient:
1200/5000 rows").

Until a row is rewritten, lookups still find it (they also match global
indexes while BLIND_INDEX_LEGACY_LOOKUPS is on), so this can run while the
application serves. Resumable: only rows still holding a global index are
selected, so a run that is stopped (killed, Ctrl-C, `--limit`) and started
again goes on where it stopped. `--dry-run` counts the rows left; at 0 the
transition is over: turn legacy lookups off (LIS_BLIND_INDEX_LEGACY_LOOKUPS=off).

Each row goes through `EncryptedFieldsMixin.reindex()`: an UPDATE at the
row's loaded version, which bumps its version, invalidates its cache entry
after commit and writes no activity log entry, since no data changes. A
value that cannot be decrypted (so cannot be indexed) is reported by model
and row, never by value; the run goes on and ends with an error listing
them. (The batching is core/management/batched.py's.)

`--every-row`: check every row, not only those holding a global index, and
rewrite each index that is not its row's under the current key: after
LIS_BLIND_INDEX_KEY was replaced (docs/operations.md, "Rotate keys"). Until
a row is rewritten, lookups do not find it (its index was made with the old
key), so run it in a maintenance window. `--dry-run --every-row` counts the
rows to check, not the rows left: without the old key nothing can tell
them apart.
"""

from typing import Any

from django.core.management.base import CommandParser
from django.db import models
from django.db.models import Q

from core.management.batched import BatchedRowCommand, Progress
from core.models.blind_index import legacy_indexed_rows


class Command(BatchedRowCommand):
    """Rewrite global (v1) blind indexes with per-lab (v2) ones."""

    help = (
        "Rewrite every global blind index with the per-lab one of its row, in "
        "batches, with progress. Safe to stop and run again: it continues "
        "where it stopped. --dry-run counts the rows left."
    )

    every_row = False

    def add_arguments(self, parser: CommandParser) -> None:
        """The batch options, and --every-row."""
        super().add_arguments(parser)
        parser.add_argument(
            "--every-row",
            action="store_true",
            help=(
                "Check every row's indexes, not only global ones: after "
                "LIS_BLIND_INDEX_KEY was replaced."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """See the module docstring."""
        self.every_row = options["every_row"]
        if self.every_row:
            self.dry_run_all_done = None  # rows to check, not rows left
        super().handle(*args, **options)

    def pending(self, model: type[models.Model]) -> Q:
        """Rows holding at least one global index (every row, --every-row)."""
        return Q() if self.every_row else legacy_indexed_rows(model)

    def process(self, row: Any) -> bool:
        """Rewrite the row's indexes under its lab (`reindex()`)."""
        return bool(row.reindex())

    dry_run_all_done: str | None = (
        "No global blind index is left: the transition is over. Set "
        "LIS_BLIND_INDEX_LEGACY_LOOKUPS=off so lookups stop matching them."
    )

    def dry_run_line(self, label: str, count: int) -> str:
        """E.g. "patients.patient: 3 rows have global blind indexes"."""
        if self.every_row:
            return f"{label}: {count} rows to check"
        return f"{label}: {count} rows have global blind indexes"

    def done_line(self, progress: Progress) -> str:
        """E.g. "patients.patient: 5 rows re-indexed per lab."."""
        return f"{progress.label}: {progress.done} rows re-indexed per lab."

    def failure_message(self, count: int, listed: str) -> str:
        """Which rows keep a global index, and what to do about them."""
        return (
            f"{count} rows could not be decrypted with the configured keys, so "
            f"keep their global blind indexes: {listed}. Restore their values "
            "(from a backup, or by setting new ones), then run this again "
            "before turning legacy lookups off."
        )
