"""`manage.py rotate_encryption_keys`: re-encrypt old rows with the newest key.

After a new key is added last to LIS_ENCRYPTION_KEYS (the old ones kept, so
old rows stay readable), this re-encrypts every stored value made with an
older key, model by model (every model using EncryptedFieldsMixin, or those
named), in batches of `--batch-size` rows, each batch in its own transaction,
printing progress ("patients.patient: 1200/5000 rows").

Resumable: it only ever selects rows that still hold a value of an older key,
so a run that is stopped (killed, Ctrl-C, `--limit`) and started again goes
on where it stopped and re-encrypts nothing twice. When it reports 0 rows
left (`--dry-run` counts without writing), the old keys can be removed.

Each batch is locked (SELECT ... FOR UPDATE) while it is rewritten, and
each row goes through `EncryptedFieldsMixin.reencrypt()`: an UPDATE at the
row's loaded version, which bumps its version, invalidates its cache entry
after commit and writes no activity log entry, since no plaintext changes. A value that
cannot be decrypted is reported by model and row, never by value; the run
goes on and ends with an error listing them.
"""

from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models, transaction
from django.db.models import Q

from core.models.encrypted_fields import encrypted_fields
from core.models.encrypted_mixin import EncryptedFieldsMixin
from core.utils.encryption import DecryptionError, get_keyring

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
    rotated: int = 0
    failed: list[Any] = field(default_factory=list)


def stale_rows(model: type[models.Model], newest_key_id: str) -> Q:
    """Rows with at least one value encrypted with a key other than the newest."""
    condition = Q(pk__in=[])
    for encrypted in encrypted_fields(model):
        name = encrypted.name
        condition |= Q(**{f"{name}__isnull": False}) & ~Q(
            **{f"{name}__encrypted_with": newest_key_id}
        )
    return condition


class Command(BaseCommand):
    """Re-encrypt values made with older keys with the newest key."""

    help = (
        "Re-encrypt every encrypted value made with an older key with the newest "
        "key of LIS_ENCRYPTION_KEYS, in batches, with progress. Safe to stop "
        "and run again: it continues where it stopped."
    )

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
            help="Stop after re-encrypting this many rows (run again to go on).",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Only count the rows that still use an older key.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Rotate each model in turn; fail at the end if some rows could not
        be decrypted."""
        if options["batch_size"] < 1 or (options["limit"] or 1) < 1:
            raise CommandError("--batch-size and --limit must be at least 1.")
        keyring = get_keyring()
        newest = keyring.newest_key_id
        budget = options["limit"]
        results = []
        for model in self._models(options["models"]):
            label = model._meta.label_lower
            stale = model._base_manager.filter(stale_rows(model, newest))
            if options["dry_run"]:
                self.stdout.write(f"{label}: {stale.count()} rows use an older key")
                continue
            progress = self._rotate(model, stale, options["batch_size"], budget)
            results.append(progress)
            if budget is not None:
                budget -= progress.rotated
                if budget <= 0:
                    self.stdout.write(
                        f"Stopped after --limit {options['limit']} rows; run "
                        "again to continue."
                    )
                    break
        self._finish(results, newest)

    def _models(self, labels: list[str]) -> list[type[models.Model]]:
        encrypted: list[type[models.Model]] = [
            model
            for model in apps.get_models()
            if issubclass(model, EncryptedFieldsMixin) and not model._meta.proxy
        ]
        if not labels:
            return encrypted
        by_label = {model._meta.label_lower: model for model in encrypted}
        unknown = [label for label in labels if label.lower() not in by_label]
        if unknown:
            raise CommandError(
                f"No model with encrypted fields is called {', '.join(unknown)}; "
                f"choose among: {', '.join(sorted(by_label)) or 'none'}."
            )
        return [by_label[label.lower()] for label in labels]

    def _rotate(
        self,
        model: type[models.Model],
        stale: models.QuerySet[Any],
        batch_size: int,
        budget: int | None,
    ) -> Progress:
        progress = Progress(model._meta.label_lower, stale.count())
        last_pk = None
        while budget is None or progress.rotated < budget:
            size = (
                batch_size
                if budget is None
                else min(batch_size, budget - progress.rotated)
            )
            batch = stale.order_by("pk")
            if last_pk is not None:
                batch = batch.filter(pk__gt=last_pk)
            with transaction.atomic(using=stale.db):
                # Locked (PostgreSQL; SQLite's write lock serialises anyway),
                # so no edit slips in between reading a row and rewriting it.
                rows = list(batch.select_for_update()[:size])
                for row in rows:
                    self._rotate_row(row, progress)
            if not rows:
                break
            last_pk = rows[-1].pk
            self.stdout.write(
                f"{progress.label}: {progress.rotated}/{progress.total} rows"
            )
        return progress

    @staticmethod
    def _rotate_row(row: Any, progress: Progress) -> None:
        try:
            if row.reencrypt():
                progress.rotated += 1
        except DecryptionError:
            progress.failed.append(row.pk)

    def _finish(self, results: list[Progress], newest: str) -> None:
        failures = []
        for progress in results:
            self.stdout.write(
                f"{progress.label}: {progress.rotated} rows re-encrypted with key "
                f"{newest!r}."
            )
            failures += [f"{progress.label} {pk}" for pk in progress.failed]
        if failures:
            listed = ", ".join(failures[:MAX_LISTED_FAILURES])
            more = len(failures) - MAX_LISTED_FAILURES
            raise CommandError(
                f"{len(failures)} rows could not be decrypted with the configured "
                f"keys and still use an older key: {listed}"
                f"{f' and {more} more' if more > 0 else ''}. Restore their values "
                "(from a backup, or by setting new ones) before removing old keys."
            )
