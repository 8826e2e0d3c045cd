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
goes on and ends with an error listing them. (The batching is
core/management/batched.py's, shared with `reindex_blind_indexes`.)
"""

from typing import Any

from django.db import models
from django.db.models import Q

from core.management.batched import BatchedRowCommand, Progress
from core.models.encrypted_fields import encrypted_fields
from core.utils.encryption import get_keyring


def stale_rows(model: type[models.Model], newest_key_id: str) -> Q:
    """Rows with at least one value encrypted with a key other than the newest."""
    condition = Q(pk__in=[])
    for encrypted in encrypted_fields(model):
        name = encrypted.name
        condition |= Q(**{f"{name}__isnull": False}) & ~Q(
            **{f"{name}__encrypted_with": newest_key_id}
        )
    return condition


class Command(BatchedRowCommand):
    """Re-encrypt values made with older keys with the newest key."""

    help = (
        "Re-encrypt every encrypted value made with an older key with the newest "
        "key of LIS_ENCRYPTION_KEYS, in batches, with progress. Safe to stop "
        "and run again: it continues where it stopped."
    )

    def pending(self, model: type[models.Model]) -> Q:
        """Rows holding a value of an older key."""
        return stale_rows(model, get_keyring().newest_key_id)

    def process(self, row: Any) -> bool:
        """Re-encrypt the row's old values (`reencrypt()`)."""
        return bool(row.reencrypt())

    def dry_run_line(self, label: str, count: int) -> str:
        """E.g. "patients.patient: 3 rows use an older key"."""
        return f"{label}: {count} rows use an older key"

    def done_line(self, progress: Progress) -> str:
        """E.g. "patients.patient: 5 rows re-encrypted with key 'k2'."."""
        newest = get_keyring().newest_key_id
        return (
            f"{progress.label}: {progress.done} rows re-encrypted with key {newest!r}."
        )

    def failure_message(self, count: int, listed: str) -> str:
        """Which rows still use an older key, and what to do about them."""
        return (
            f"{count} rows could not be decrypted with the configured keys and "
            f"still use an older key: {listed}. Restore their values (from a "
            "backup, or by setting new ones) before removing old keys."
        )
