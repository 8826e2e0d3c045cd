"""The instance cache: one hash per model and lab, race-free, fail-open.

`get_client("cache")` returns a `HashCache`: the facade the models use
(`core/models/caching.py`), over a storage named by class path in its
`storage` option (`config/settings/services.py`, section cache):
`RedisStorage` (redis-py, pooled), `RedisClusterStorage` (`RedisCluster`),
or `LocalStorage`, in process with the same rules (the embedded default).
See `backends.py` for the compare-and-set rule that makes fills and
invalidations race-free.

Fail-open: the facade never raises (but for the operator's `evict` and
`purge`, which must say when they did not happen). Every Redis call has a
short socket timeout (`socket_timeout_seconds`, 0.1 s by default), and a
circuit breaker stops calling Redis after `failure_threshold` consecutive
failures for `reset_after_seconds`, so during an outage a read waits at most
one timeout and then none, and falls back to the database. A read that got no
answer does not fill what it read from the database (that would be a second
timeout in the same read): one Redis call per read, at most.

An invalidation that cannot be delivered is recorded in the database
(`PendingCacheInvalidation`), and those hashes are dropped as soon as Redis
answers again, whether or not any request comes: the recording process retries
in a background thread every `PENDING_RETRY_INTERVAL_SECONDS` (`retry.py`),
bypassing its open breaker, until nothing is pending. So every process,
including those that never saw the outage, stops reading the stale rows within
about that interval after Redis answers. As a backstop for a recording process
that died before Redis came back, every process also drains when its breaker
closes and at least every `PENDING_DRAIN_INTERVAL_SECONDS` of cache traffic,
in its retry thread (a cache hit never waits on the database).
That table is a model, and core's models sit above the cache (their caching
mixin uses it), so the cache names it by class path (the
`pending_invalidations` option), as it names its storage, and imports no
model.

Residual risk, accepted and documented: if Redis itself loses a tombstone
(restart, eviction) during the milliseconds between a slow reader's database
read and its fill, that reader can store the old row.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import Any, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.utils.module_loading import import_string

from core.cache.backends import (
    FIELD_COMPLETE,
    FIELD_GENERATION,
    CachedValue,
    HashStorage,
    LocalStorage,
    Row,
    decode,
)
from core.cache.retry import PENDING_RETRY_INTERVAL_SECONDS, PendingRetrier
from core.metrics.families import CACHE_ERRORS, CACHE_LOOKUPS, CACHE_SKIPPED
from core.utils.circuit_breaker import CircuitBreaker
from core.utils.clients import (
    DEFAULT_CHECK_TIMEOUT_SECONDS,
    HealthStatus,
    ServiceClient,
)

__all__ = [
    "PENDING_DRAIN_INTERVAL_SECONDS",
    "PENDING_RETRY_INTERVAL_SECONDS",
    "CacheStats",
    "CachedValue",
    "HashCache",
    "Row",
]

logger = logging.getLogger(__name__)

#: How often a process with cache traffic looks for invalidations left
#: undelivered by an outage (a backstop: the recording process retries every
#: PENDING_RETRY_INTERVAL_SECONDS itself). One database query per interval.
PENDING_DRAIN_INTERVAL_SECONDS = 5.0
#: Where undelivered invalidations are recorded, by default.
PENDING_INVALIDATIONS = "core.models.cache_invalidation.PendingCacheInvalidation"

T = TypeVar("T")

#: This process's lookup counters (core/metrics/families.py), bound once.
_HITS = CACHE_LOOKUPS.labels("hit")
_MISSES = CACHE_LOOKUPS.labels("miss")


@dataclass
class CacheStats:
    """Counters since the process started, for the health endpoint.

    `skipped` counts calls not made because the breaker was open.
    """

    hits: int = 0
    misses: int = 0
    errors: int = 0
    skipped: int = 0
    fills: int = 0
    fills_refused: int = 0
    invalidations: int = 0
    invalidations_pending: int = 0


class HashCache(ServiceClient):
    """The instance cache facade; never raises, counts everything.

    Options: `storage`, a `{"BACKEND": <HashStorage class path>, "OPTIONS":
    {...}}` dict (LocalStorage when absent); `pending_invalidations`, the
    class path of the durable record of undelivered invalidations (its
    `remember(key)` and `drain(drop)`); and the circuit breaker's
    `failure_threshold` and `reset_after_seconds`. What the cache can do
    beyond the facade is its storage's to say: `cache.storage.can(...)`.
    """

    capabilities = frozenset()

    def __init__(
        self,
        storage: Mapping[str, Any] | None = None,
        failure_threshold: int = 3,
        reset_after_seconds: float = 5.0,
        pending_invalidations: str = PENDING_INVALIDATIONS,
    ) -> None:
        self.storage = build_storage(storage)
        self._pending_path = pending_invalidations
        self.breaker = CircuitBreaker(
            failure_threshold, reset_after_seconds, on_close=self._drain_due_now
        )
        self.stats = CacheStats()
        self._next_drain_at = 0.0
        self.retrier = PendingRetrier(self._deliver_pending)

    # -- reads ----------------------------------------------------------------

    def get(self, key: str, field: str) -> CachedValue | None:
        """The cached row, or None (miss, tombstone, or cache unavailable)."""
        return self.get_many(key, [field])[0]

    def get_many(self, key: str, fields: Sequence[str]) -> list[CachedValue | None]:
        """One HMGET; None where missing."""
        values = self.lookup(key, fields)
        return [None] * len(fields) if values is None else values

    def lookup(
        self, key: str, fields: Sequence[str]
    ) -> list[CachedValue | None] | None:
        """One HMGET: the cached rows (None where missing), or None when the
        cache did not answer. Then do not `fill` what the database gives:
        with Redis hung the fill would wait for a second timeout in the same
        read (the breaker opens only after `failure_threshold` failures)."""
        raw = self._call("read", lambda: self.storage.get_many(key, fields), None)
        if raw is None:
            self._count(0, len(fields))
            return None
        values = [decode(item) for item in raw]
        hits = sum(value is not None for value in values)
        self._count(hits, len(values) - hits)
        return values

    def get_list(self, key: str) -> tuple[int | None, dict[str, CachedValue] | None]:
        """(generation, rows) of a lab's whole list; rows is None when the
        list is not (completely) cached. Pass the generation to `fill_list`;
        a None generation means the cache is unavailable: do not fill."""
        stored = self._call("read", lambda: self.storage.get_all(key), None)
        if stored is None:
            self._count(0, 1)
            return None, None
        generation = int(stored.pop(FIELD_GENERATION, 0) or 0)
        if stored.pop(FIELD_COMPLETE, None) is None:
            self._count(0, 1)
            return generation, None
        self._count(1, 0)
        rows = {field: decode(raw) for field, raw in stored.items()}
        return generation, {k: v for k, v in rows.items() if v is not None}

    # -- writes ---------------------------------------------------------------

    def fill(self, key: str, rows: Sequence[Row], ttl: int) -> None:
        """Store rows read from the database, each unless a newer version is
        cached (see backends.py)."""
        stored = self._call(
            "fill", lambda: self.storage.fill_many(key, rows, ttl), None
        )
        if stored is not None:
            self.stats.fills += stored
            self.stats.fills_refused += len(rows) - stored

    def fill_list(
        self, key: str, generation: int, rows: Sequence[Row], ttl: int
    ) -> None:
        """Store a lab's whole list unless an invalidation happened since
        `generation` was read."""
        stored = self._call(
            "fill", lambda: self.storage.fill_list(key, generation, rows, ttl), None
        )
        if stored:
            self.stats.fills += 1
        elif stored is False:
            self.stats.fills_refused += 1

    def invalidate(self, key: str, field: str, version: int, ttl: int) -> None:
        """Tombstone `field` at `version` (after a commit). If the cache is
        unreachable, remember the hash so it is dropped when it is back."""
        done = self._call(
            "invalidate",
            lambda: self.storage.invalidate(key, field, version, ttl) or True,
            None,
        )
        if done:
            self.stats.invalidations += 1
        else:
            self._remember_pending(key)

    def evict(self, key: str, field: str, version: int, ttl: int) -> None:
        """Tombstone `field` at `version` whatever version is cached (an
        operator's fix-up, `reset_cache_instance`). Raises if the store is
        unreachable: the operator must know it did not happen."""
        self.storage.evict(key, field, version, ttl)
        self.stats.invalidations += 1

    def purge(self, pattern: str) -> int:
        """Delete every hash whose key matches the glob `pattern`, however
        new its rows (an operator's fix-up after a restore, `manage.py
        cache_purge`). Returns how many. Raises if the store is unreachable."""
        purged = 0
        for key in self.storage.keys(pattern):
            self.storage.drop(key)
            purged += 1
        return purged

    def drop(self, key: str) -> None:
        """Delete a whole hash (or remember to, if unreachable)."""
        if not self._call("drop", lambda: self.storage.drop(key) or True, None):
            self._remember_pending(key)

    # -- health -----------------------------------------------------------------

    def check(self, timeout: float = DEFAULT_CHECK_TIMEOUT_SECONDS) -> HealthStatus:
        """Ping the store (bounded by the socket timeout); report the breaker."""
        status = self.timed_check(self.storage.ping)
        detail = f"{type(self.storage).__name__}, breaker {self.breaker.state}"
        return HealthStatus(status.ok, status.latency_ms, status.detail or detail)

    def snapshot(self) -> dict[str, Any]:
        """Counters and breaker state, e.g. `{"hits": 10, ..., "breaker": "closed"}`."""
        return {**asdict(self.stats), "breaker": str(self.breaker.state)}

    def close(self) -> None:
        self.retrier.stop()
        self.storage.close()

    # -- internals ----------------------------------------------------------

    def _call(self, what: str, operation: Callable[[], T], default: T) -> T:
        if not self.breaker.allow():
            self.stats.skipped += 1
            CACHE_SKIPPED.inc()
            return default
        try:
            result = operation()
        except Exception as exc:  # any failure of the cache is a miss, never an error
            self.breaker.record_failure()
            self.stats.errors += 1
            CACHE_ERRORS.inc()
            logger.warning(
                "instance cache %s failed (%s); using the database",
                what,
                type(exc).__name__,
            )
            return default
        self.breaker.record_success()
        self._drain_pending_if_due()
        return result

    def _count(self, hits: int, misses: int) -> None:
        """Lookups, in the snapshot and in the process's metrics."""
        self.stats.hits += hits
        self.stats.misses += misses
        if hits:
            _HITS.inc(hits)
        if misses:
            _MISSES.inc(misses)

    @cached_property
    def _pending(self) -> Any:
        # Resolved on first use: the class is a model, loaded after the apps.
        return import_string(self._pending_path)

    def _drain_due_now(self) -> None:
        self._next_drain_at = 0.0

    def _remember_pending(self, key: str) -> None:
        self.stats.invalidations_pending += 1
        try:
            self._pending.remember(key)
        except Exception:
            logger.exception(
                "could not record the undelivered invalidation of %s; entries "
                "of that hash may stay stale until it expires",
                key,
            )
        self.retrier.notify()

    def _deliver_pending(self) -> bool:
        """The retry thread's attempt: if Redis answers (asked directly: an
        open breaker must not hold the drain back for `reset_after_seconds`),
        close the breaker and drop every recorded hash. True when a drain
        found nothing left to drop; False to try again later."""
        try:
            self.storage.ping()
        except Exception:  # still down: the next attempt will tell
            return False
        self.breaker.record_success()
        try:
            return bool(self._pending.drain(self.storage.drop) == 0)
        except Exception as exc:
            logger.warning(
                "dropping hashes with undelivered invalidations failed (%s); "
                "retrying in %.2f s",
                type(exc).__name__,
                PENDING_RETRY_INTERVAL_SECONDS,
            )
            return False

    def _drain_pending_if_due(self) -> None:
        now = time.monotonic()
        if now < self._next_drain_at or connection.in_atomic_block:
            return
        self._next_drain_at = now + PENDING_DRAIN_INTERVAL_SECONDS
        # In the retry thread, not in this call: a read that hits the cache
        # must not pay for a database query (on a request that otherwise
        # makes none, a connection), which halved the patient read's req/s.
        self.retrier.notify()


def build_storage(config: Mapping[str, Any] | None) -> HashStorage:
    """The storage `config` names (`{"BACKEND": "core.cache.backends.
    RedisStorage", "OPTIONS": {"url": ...}}`), or LocalStorage for None."""
    if config is None:
        return LocalStorage()
    where = "settings.SERVICES['cache']['OPTIONS']['storage']"
    try:
        storage_class = import_string(config["BACKEND"])
    except (KeyError, TypeError, ImportError) as exc:
        raise ImproperlyConfigured(
            f"{where}['BACKEND'] must be the dotted path of a storage class, "
            f"e.g. 'core.cache.backends.RedisStorage': {exc!r}"
        ) from exc
    # Is it a storage at all (any), not which one: the configuration check.
    if not (isinstance(storage_class, type) and issubclass(storage_class, HashStorage)):
        raise ImproperlyConfigured(
            f"{where}['BACKEND'] = {config['BACKEND']!r} is not a HashStorage "
            "class; use one of core.cache.backends' LocalStorage, RedisStorage, "
            "RedisClusterStorage."
        )
    storage: HashStorage = storage_class(**config.get("OPTIONS", {}))
    return storage
