"""Counter: windowed counters kept in the database, for the sign-in throttle
when the cache service has no Redis (the embedded default).

A row per key: its hits and when its window ends (milliseconds since the
epoch: an integer compares the same way on every database, without
time-zone adapters). `core.ratelimit.counters.DatabaseCounterStore` counts
with one atomic upsert per hit; `prune_expired_counters` (run by every
Fusion worker's maintenance round) removes rows whose window has ended.
Not a BaseModel: counters are bookkeeping, never audited or cached.
"""

from django.db import models


class Counter(models.Model):
    """One windowed counter. Example: `Counter(key="signin:ip:10.0.0.5",
    hits=3, ends_at_ms=1_780_000_000_000)`."""

    key = models.CharField(max_length=200, primary_key=True)
    hits = models.PositiveIntegerField()
    ends_at_ms = models.BigIntegerField(db_index=True)

    class Meta:
        verbose_name = "windowed counter"

    def __str__(self) -> str:
        return f"{self.key}: {self.hits}"
