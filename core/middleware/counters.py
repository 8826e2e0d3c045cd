"""Windowed counters for rate limits and sign-in throttling.

A counter counts hits on one key for a window that starts at its first hit
and lasts `window_seconds`; when the window ends the key disappears and
counting starts again (a fixed window: at most `limit` hits per window, and
a burst of 2 x limit around a window boundary at worst, which is fine for
abuse limits).

`counter_store()` picks the store from the cache service:

- Redis / Redis Cluster (`RedisCounterStore`): one Lua script per hit on one
  key (INCR, then PEXPIRE on the first hit), atomic on a cluster node, so
  every process shares the counts. Raises `StoreUnavailable` when Redis
  cannot be used; callers decide whether that allows or refuses.
- In-process (`LocalCounterStore`, the embedded default): the same rules
  under a lock; counts are per process, which is what one machine running
  one server process needs. It lives as long as the cache client (tests
  rebuild clients, so they start with fresh counts).
"""

import math
import threading
import time
import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, NamedTuple

from core.middleware.cache_redis import CacheRedis, cache_redis
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

    def _live(self, key: str, now: float) -> tuple[int, float]:
        count, ends_at = self._counts.get(key, (0, 0.0))
        return (count, ends_at) if ends_at > now else (0, 0.0)

    def _forget_expired(self, now: float) -> None:
        # Bounded work per hit: keeps memory proportional to live counters
        # without a sweeper thread.
        if len(self._counts) > LOCAL_SWEEP_AT_COUNTERS:
            self._counts = {k: v for k, v in self._counts.items() if v[1] > now}


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
