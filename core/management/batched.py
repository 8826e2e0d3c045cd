"""BatchedRowCommand: the base of maintenance commands that rewrite the rows
of encrypted models in batches (`rotate_encryption_keys`,
`reindex_blind_indexes`).

What they share: the models (every model using EncryptedFieldsMixin, or
those named), `--batch-size`, `--limit`, `--dry-run`, batches of rows in
primary-key order, each batch locked (SELECT ... FOR UPDATE) and rewritten
in its own transaction, progress after each ("patients.patient: 1200/5000
rows"), and resumability: only rows still pending are ever selected, so a
run that is stopped (killed, Ctrl-C, `--limit`) and started again goes on
where it stopped. A row whose values cannot be decrypted is reported by
model and primary key, never by value; the run goes on and ends with an
error listing them.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models, transaction
from django.db.models import Q

from core.management.model_choice import chosen_models
from core.models.encrypted_mixin import EncryptedFieldsMixin
from core.utils.encryption import DecryptionError

#: Rows per transaction: small enough to keep locks short, big enough that
#: the per-batch query is a small share of the work.
DEFAULT_BATCH_SIZE = 500
#: Rows listed by pk when some cannot be decrypted; the rest are counted.
MAX_LISTED_FAILURES = 20


@dataclass
class Progress:
    """What one model's pass did."""

    label: str
    total: int
    done: int = 0
    failed: list[Any] = field(default_factory=list)


class BatchedRowCommand(BaseCommand, ABC):
    """Rewrite each pending row of each encrypted model, in batches.

    Subclasses say which rows are pending (`pending`), how one is rewritten
    (`process`, True when it was written) and what the messages say.
    """

    @abstractmethod
    def pending(self, model: type[models.Model]) -> Q:
        """The rows of `model` still to rewrite."""

    @abstractmethod
    def process(self, row: Any) -> bool:
        """Rewrite one locked row; True when it was written. May raise
        `DecryptionError` (the row is then reported)."""

    @abstractmethod
    def dry_run_line(self, label: str, count: int) -> str:
        """What `--dry-run` prints for one model."""

    #: Printed after a `--dry-run` that found no row left in any model.
    dry_run_all_done: str | None = None

    @abstractmethod
    def done_line(self, progress: Progress) -> str:
        """What the run prints for one model at the end."""

    @abstractmethod
    def failure_message(self, count: int, listed: str) -> str:
        """The error when `count` rows (`listed`) could not be decrypted."""

    def add_arguments(self, parser: CommandParser) -> None:
        """--batch-size, --limit, --dry-run and optional model labels."""
        parser.add_argument(
            "models",
            nargs="*",
            metavar="app_label.ModelName",
            help="Only these models (default: every model with encrypted fields).",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULT_BATCH_SIZE,
            help=f"Rows per transaction (default {DEFAULT_BATCH_SIZE}).",
        )
        parser.add_argument(
            "--limit",
            type=int,
            default=None,
            help="Stop after rewriting this many rows (run again to go on).",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Only count the rows left to rewrite.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Each model in turn; fail at the end if some rows could not be
        decrypted."""
        limit = options["limit"]
        if options["batch_size"] < 1 or (limit is not None and limit < 1):
            raise CommandError("--batch-size and --limit must be at least 1.")
        budget = options["limit"]
        results = []
        left = 0
        for model in self.selected_models(options["models"]):
            label = model._meta.label_lower
            rows = model._base_manager.filter(self.pending(model))
            if options["dry_run"]:
                count = rows.count()
                left += count
                self.stdout.write(self.dry_run_line(label, count))
                continue
            progress = self._run(model, rows, options["batch_size"], budget)
            results.append(progress)
            if budget is not None:
                budget -= progress.done
                if budget <= 0:
                    self.stdout.write(
                        f"Stopped after --limit {options['limit']} rows; run "
                        "again to continue."
                    )
                    break
        if options["dry_run"] and not left and self.dry_run_all_done:
            self.stdout.write(self.dry_run_all_done)
        self._finish(results)

    def selected_models(self, labels: list[str]) -> list[type[models.Model]]:
        """The models named by `labels`, or every model with encrypted fields."""
        return chosen_models(
            labels,
            lambda model: (
                issubclass(model, EncryptedFieldsMixin) and not model._meta.proxy
            ),
            "No model with encrypted fields is called {unknown}; "
            "choose among: {choices}.",
        )

    def _run(
        self,
        model: type[models.Model],
        pending: models.QuerySet[Any],
        batch_size: int,
        budget: int | None,
    ) -> Progress:
        progress = Progress(model._meta.label_lower, pending.count())
        last_pk = None
        while budget is None or progress.done < budget:
            size = (
                batch_size
                if budget is None
                else min(batch_size, budget - progress.done)
            )
            batch = pending.order_by("pk")
            if last_pk is not None:
                batch = batch.filter(pk__gt=last_pk)
            with transaction.atomic(using=pending.db):
                # Locked (PostgreSQL; SQLite's write lock serialises anyway),
                # so no edit slips in between reading a row and rewriting it.
                rows = list(batch.select_for_update()[:size])
                for row in rows:
                    self._process_row(row, progress)
            if not rows:
                break
            last_pk = rows[-1].pk
            self.stdout.write(
                f"{progress.label}: {progress.done}/{progress.total} rows"
            )
        return progress

    def _process_row(self, row: Any, progress: Progress) -> None:
        try:
            if self.process(row):
                progress.done += 1
        except DecryptionError:
            progress.failed.append(row.pk)

    def _finish(self, results: list[Progress]) -> None:
        failures = []
        for progress in results:
            self.stdout.write(self.done_line(progress))
            failures += [f"{progress.label} {pk}" for pk in progress.failed]
        if failures:
            listed = ", ".join(failures[:MAX_LISTED_FAILURES])
            more = len(failures) - MAX_LISTED_FAILURES
            if more > 0:
                listed += f" and {more} more"
            raise CommandError(self.failure_message(len(failures), listed))
