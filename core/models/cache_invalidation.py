"""PendingCacheInvalidation: hashes whose invalidation could not be delivered.

When Redis is unreachable after a commit, the instance cache cannot tombstone
the changed row; it records the hash here instead, and drops the whole hash
as soon as Redis answers again, so no stale entry outlives the outage. A
plain Model, not a BaseModel: it is the cache's own bookkeeping, with no lab,
no hooks and nothing to audit.
"""

from collections.abc import Callable

from django.db import IntegrityError, models, transaction

#: How many hashes one drain drops; the rest wait for the next drain.
DRAIN_BATCH_SIZE = 500


class PendingCacheInvalidation(models.Model):
    """One hash to drop once the cache is reachable again."""

    key = models.CharField(max_length=255, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "pending cache invalidation"

    def __str__(self) -> str:
        return self.key

    @classmethod
    def remember(cls, key: str) -> None:
        """Record `key` (once; recording it again is a no-op)."""
        if cls.objects.filter(key=key).exists():
            return
        try:
            with transaction.atomic():
                cls.objects.create(key=key)
        except IntegrityError:
            pass  # another process recorded it at the same moment

    @classmethod
    def drain(cls, drop: Callable[[str], None]) -> int:
        """Call `drop(key)` for each recorded hash, then forget those that
        were dropped. Raises (leaving the rest recorded) if `drop` fails.
        Returns how many hashes were dropped."""
        pending = list(cls.objects.values_list("pk", "key")[:DRAIN_BATCH_SIZE])
        dropped = []
        try:
            for pk, key in pending:
                drop(key)
                dropped.append(pk)
        finally:
            if dropped:
                cls.objects.filter(pk__in=dropped).delete()
        return len(dropped)
