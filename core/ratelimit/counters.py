"""Windowed counters for rate limits and sign-in throttling.

A counter counts hits on one key for a window that starts at its first hit
and lasts `window_seconds`; when the window ends the key disappears and
counting starts again (a fixed window: at most `limit` hits per window, and
a burst of 2 x limit around a window boundary at worst, which is fine for
abuse limits).

`counter_store()` picks the store of rate limits from the cache service,
`sign_in_counter_store()` that of the sign-in throttle:

- Redis / Redis Cluster (`RedisCounterStore`): one Lua script per hit on one
  key (INCR, then PEXPIRE on the first hit), atomic on a cluster node, so
  every process shares the counts. Raises `StoreUnavailable` when Redis
  cannot be used; callers decide whether that allows or refuses.
- In-process (`LocalCounterStore`, the embedded default): the same rules
  under a lock; counts are per process, which is what one machine running
  one server process needs. It lives as long as the cache client (tests
  rebuild clients, so they start with fresh counts). Rate limits only.
- Database (`DatabaseCounterStore`): the sign-in throttle's store when there
  is no Redis. One atomic upsert per hit (INSERT ... ON CONFLICT DO UPDATE
  ... RETURNING, on PostgreSQL and SQLite alike), so every process of the
  embedded default shares the counts and parallel attempts cannot race past
  a limit. Rows whose window ended are removed by `prune_expired_counters`
  (every Fusion worker's maintenance round).
"""

import math
import threading
import time
import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, NamedTuple

from django.db import connections, models, router

from core.cache.shared_redis import CacheRedis, cache_redis
from core.models.counter import Counter
from core.utils.clients import get_client

#: Prefix of every counter key (keys also carry the lab, user or IP counted).
KEY_PREFIX = "counter:"
#: Live counters an in-process store holds before it sweeps out ended ones.
LOCAL_SWEEP_AT_COUNTERS = 10_000


class Count(NamedTuple):
    """A counter's value and the seconds left in its window (0 when unset).

    Example: `Count(hits=3, retry_after_seconds=42)`.
    """

    hits: int
    retry_after_seconds: int


# KEYS[1] counter; ARGV[1] window in ms. Returns {count, ms left}.
_HIT_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  left = tonumber(ARGV[1])
end
return {count, left}
"""
# KEYS[1] counter. Takes back one hit of a live counter (its window kept).
_UNDO_SCRIPT = """
if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then
  redis.call('DECR', KEYS[1])
end
return 0
"""
# KEYS[1] counter. Returns {count, ms left}; {0, 0} when unset.
_PEEK_SCRIPT = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
local left = redis.call('PTTL', KEYS[1])
if left < 0 then left = 0 end
return {count, left}
"""


def _seconds(milliseconds: int) -> int:
    return math.ceil(milliseconds / 1000)


class CounterStore(ABC):
    """Where counters live."""

    @abstractmethod
    def hit(self, key: str, window_seconds: int) -> Count:
        """Count one hit on `key`; the count including it."""

    @abstractmethod
    def peek(self, key: str) -> Count:
        """The count of `key` without counting."""

    @abstractmethod
    def reset(self, key: str) -> None:
        """Forget `key`'s count."""

    @abstractmethod
    def undo(self, key: str) -> None:
        """Take back one hit of `key` (never below 0; the window is kept)."""


class RedisCounterStore(CounterStore):
    """Counters in the cache service's Redis; see the module docstring."""

    def __init__(self, redis: CacheRedis) -> None:
        self.redis = redis

    def hit(self, key: str, window_seconds: int) -> Count:
        window_ms = window_seconds * 1000
        count, left = self.redis.call(
            lambda client: client.eval(_HIT_SCRIPT, 1, KEY_PREFIX + key, window_ms)
        )
        return Count(int(count), _seconds(int(left)))

    def peek(self, key: str) -> Count:
        count, left = self.redis.call(
            lambda client: client.eval(_PEEK_SCRIPT, 1, KEY_PREFIX + key)
        )
        return Count(int(count), _seconds(int(left)))

    def reset(self, key: str) -> None:
        self.redis.call(lambda client: client.delete(KEY_PREFIX + key))

    def undo(self, key: str) -> None:
        self.redis.call(lambda client: client.eval(_UNDO_SCRIPT, 1, KEY_PREFIX + key))


class LocalCounterStore(CounterStore):
    """In-process counters with the same rules; see the module docstring."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[int, float]] = {}  # key -> (count, ends at)
        self._clock = clock

    def hit(self, key: str, window_seconds: int) -> Count:
        with self._lock:
            now = self._clock()
            count, ends_at = self._live(key, now)
            if not count:
                ends_at = now + window_seconds
            self._counts[key] = (count + 1, ends_at)
            self._forget_expired(now)
            return Count(count + 1, math.ceil(ends_at - now))

    def peek(self, key: str) -> Count:
        with self._lock:
            now = self._clock()
            count, ends_at = self._live(key, now)
            return Count(count, math.ceil(ends_at - now) if count else 0)

    def reset(self, key: str) -> None:
        with self._lock:
            self._counts.pop(key, None)

    def undo(self, key: str) -> None:
        with self._lock:
            count, ends_at = self._live(key, self._clock())
            if count:
                self._counts[key] = (count - 1, ends_at)

    def _live(self, key: str, now: float) -> tuple[int, float]:
        count, ends_at = self._counts.get(key, (0, 0.0))
        return (count, ends_at) if ends_at > now else (0, 0.0)

    def _forget_expired(self, now: float) -> None:
        # Bounded work per hit: keeps memory proportional to live counters
        # without a sweeper thread.
        if len(self._counts) > LOCAL_SWEEP_AT_COUNTERS:
            self._counts = {k: v for k, v in self._counts.items() if v[1] > now}


class DatabaseCounterStore(CounterStore):
    """Counters in the `Counter` table; see the module docstring."""

    def hit(self, key: str, window_seconds: int) -> Count:
        now = _now_ms()
        table, name, hits, ends = _counter_names()
        # Identifiers come from model metadata, never from input.
        upsert = (
            f"INSERT INTO {table} ({name}, {hits}, {ends}) VALUES (%s, 1, %s) "  # noqa: S608
            f"ON CONFLICT ({name}) DO UPDATE SET "
            f"{hits} = CASE WHEN {table}.{ends} <= %s THEN 1 "
            f"ELSE {table}.{hits} + 1 END, "
            f"{ends} = CASE WHEN {table}.{ends} <= %s THEN excluded.{ends} "
            f"ELSE {table}.{ends} END "
            f"RETURNING {hits}, {ends}"
        )
        with _cursor() as cursor:
            cursor.execute(upsert, [key, now + window_seconds * 1000, now, now])
            count, ends_at = cursor.fetchone()
        return Count(int(count), _seconds(int(ends_at) - now))

    def peek(self, key: str) -> Count:
        now = _now_ms()
        row = Counter.objects.filter(key=key, ends_at_ms__gt=now).first()
        return Count(row.hits, _seconds(row.ends_at_ms - now)) if row else Count(0, 0)

    def reset(self, key: str) -> None:
        Counter.objects.filter(key=key).delete()

    def undo(self, key: str) -> None:
        Counter.objects.filter(key=key, hits__gt=0, ends_at_ms__gt=_now_ms()).update(
            hits=models.F("hits") - 1
        )


def prune_expired_counters() -> int:
    """Remove database counters whose window has ended (settings.
    FUSION_PERIODIC_TASKS). Returns how many."""
    deleted, _ = Counter.objects.filter(ends_at_ms__lte=_now_ms()).delete()
    return deleted


def _now_ms() -> int:
    return int(time.time() * 1000)


def _counter_names() -> tuple[str, str, str, str]:
    quote = connections[router.db_for_write(Counter)].ops.quote_name
    return (
        quote(Counter._meta.db_table),
        quote("key"),
        quote("hits"),
        quote("ends_at_ms"),
    )


def _cursor() -> Any:
    return connections[router.db_for_write(Counter)].cursor()


_local_stores: "weakref.WeakKeyDictionary[Any, LocalCounterStore]" = (
    weakref.WeakKeyDictionary()
)
_local_stores_lock = threading.Lock()


def counter_store() -> CounterStore:
    """The store for the current cache service (Redis or in-process)."""
    redis = cache_redis()
    if redis is not None:
        return RedisCounterStore(redis)
    cache = get_client("cache")
    with _local_stores_lock:
        store = _local_stores.get(cache)
        if store is None:
            store = _local_stores[cache] = LocalCounterStore()
        return store


def sign_in_counter_store() -> CounterStore:
    """The sign-in throttle's store: Redis when the cache service has one,
    else the database (shared by every process, unlike in-process counts)."""
    redis = cache_redis()
    return RedisCounterStore(redis) if redis is not None else DatabaseCounterStore()
