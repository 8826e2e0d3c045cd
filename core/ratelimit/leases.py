"""Leases: slots for work that may run only so many times at once, per owner
and in total, and that free themselves when their holder dies.

    lease = acquire_lease("pdf-render", "lab:12", per_owner=2, total=4,
                          ttl_seconds=40)   # or LeaseRefused
    with lease:
        ...                                 # released at the end

A lease lasts at most `ttl_seconds`: it is released when the work ends and,
should its holder never get there (a process killed, a host lost), it
expires by itself. Callers choose a TTL longer than the work can take (the
PDF renders' is their hard time limit plus a margin), so a live holder
never loses its slot.

Stores, picked from the cache service as the rate-limit counters are:

- Redis / Redis Cluster (`RedisLeaseStore`): a sorted set of the group's
  leases and one of each owner's, scored by expiry in Redis's own clock
  (web hosts' clocks may differ). One Lua script drops the expired leases,
  checks both caps and adds the lease, atomically; the keys share a hash
  tag (`{group}`), so the script runs on one cluster node. Every process of
  every web server shares the caps.
- In-process (`LocalLeaseStore`, the embedded default): the same rules
  under a lock, with the monotonic clock; caps per process.

With Redis down, `acquire_lease` falls back to the process's own store: the
caps then hold per process, neither lifted nor refusing everyone for the
outage.
"""

import logging
import threading
import time
import uuid
import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from core.cache.shared_redis import CacheRedis, StoreUnavailable, cache_redis
from core.utils.clients import get_client

logger = logging.getLogger(__name__)

#: Prefix of every lease key; the group, in braces, is the cluster hash tag.
KEY_PREFIX = "lease:"
#: LeaseRefused.scope values: which cap was full.
OWNER, TOTAL = "owner", "total"

# KEYS[1] the group's leases, KEYS[2] the owner's; ARGV token, per-owner cap,
# total cap, TTL in ms. Returns 0 (granted), 1 (owner full) or 2 (all full).
_ACQUIRE_SCRIPT = """
local clock = redis.call('TIME')
local now = clock[1] * 1000 + math.floor(clock[2] / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[2]) then return 1 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 2 end
local ttl = tonumber(ARGV[4])
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now + ttl, ARGV[1])
  if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
end
return 0
"""
# KEYS[1] the group's leases, KEYS[2] the owner's; ARGV token.
_RELEASE_SCRIPT = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 0
"""
# KEYS[1] a set of leases. Returns how many have not expired.
_COUNT_SCRIPT = """
local clock = redis.call('TIME')
local now = clock[1] * 1000 + math.floor(clock[2] / 1000)
return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
"""


class LeaseRefused(Exception):
    """Every slot is taken: the owner's (`scope` OWNER) or the group's
    (`scope` TOTAL); `limit` is that cap."""

    def __init__(self, scope: str, limit: int) -> None:
        super().__init__(f"all {limit} slots ({scope}) are taken")
        self.scope = scope
        self.limit = limit


@dataclass(frozen=True)
class Lease:
    """A slot held in `store`; release it, or use it as a context manager."""

    store: "LeaseStore"
    group: str
    owner: str
    token: str = field(default_factory=lambda: uuid.uuid4().hex)

    def release(self) -> None:
        """Give the slot back (a lease that expired meanwhile: no-op). With
        Redis down the slot is left to expire and this only logs."""
        try:
            self.store.release(self)
        except StoreUnavailable as down:
            logger.warning("Lease %s of %s left to expire: %s", self.token,
                           self.group, down)  # fmt: skip

    def __enter__(self) -> "Lease":
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.release()


class LeaseStore(ABC):
    """Where leases live."""

    @abstractmethod
    def acquire(
        self, group: str, owner: str, *, per_owner: int, total: int, ttl_seconds: float
    ) -> Lease:
        """A lease of `group` for `owner`, if `owner` holds fewer than
        `per_owner` and the group fewer than `total`; else LeaseRefused."""

    @abstractmethod
    def release(self, lease: Lease) -> None:
        """Free `lease`'s slot."""

    @abstractmethod
    def held(self, group: str, owner: str | None = None) -> int:
        """How many leases of `group` (of `owner`, if given) are live."""


class RedisLeaseStore(LeaseStore):
    """Leases in the cache service's Redis; see the module docstring."""

    def __init__(self, redis: CacheRedis) -> None:
        self.redis = redis

    def acquire(
        self, group: str, owner: str, *, per_owner: int, total: int, ttl_seconds: float
    ) -> Lease:
        lease = Lease(self, group, owner)
        keys = _keys(group, owner)
        ttl_ms = max(1, round(ttl_seconds * 1000))
        answer = self.redis.call(
            lambda client: client.eval(
                _ACQUIRE_SCRIPT, 2, *keys, lease.token, per_owner, total, ttl_ms
            )
        )
        if int(answer) == 1:
            raise LeaseRefused(OWNER, per_owner)
        if int(answer) == 2:
            raise LeaseRefused(TOTAL, total)
        return lease

    def release(self, lease: Lease) -> None:
        keys = _keys(lease.group, lease.owner)
        self.redis.call(
            lambda client: client.eval(_RELEASE_SCRIPT, 2, *keys, lease.token)
        )

    def held(self, group: str, owner: str | None = None) -> int:
        key = _keys(group, owner)[1 if owner is not None else 0]
        return int(self.redis.call(lambda client: client.eval(_COUNT_SCRIPT, 1, key)))


class LocalLeaseStore(LeaseStore):
    """In-process leases with the same rules; see the module docstring."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        # group -> token -> (owner, expires at)
        self._leases: dict[str, dict[str, tuple[str, float]]] = {}
        self._clock = clock

    def acquire(
        self, group: str, owner: str, *, per_owner: int, total: int, ttl_seconds: float
    ) -> Lease:
        with self._lock:
            leases = self._live(group)
            if sum(1 for holder, _ in leases.values() if holder == owner) >= per_owner:
                raise LeaseRefused(OWNER, per_owner)
            if len(leases) >= total:
                raise LeaseRefused(TOTAL, total)
            lease = Lease(self, group, owner)
            leases[lease.token] = (owner, self._clock() + ttl_seconds)
            return lease

    def release(self, lease: Lease) -> None:
        with self._lock:
            self._leases.get(lease.group, {}).pop(lease.token, None)

    def held(self, group: str, owner: str | None = None) -> int:
        with self._lock:
            leases = self._live(group).values()
            return sum(1 for holder, _ in leases if owner in (None, holder))

    def _live(self, group: str) -> dict[str, tuple[str, float]]:
        now = self._clock()
        live = {
            token: lease
            for token, lease in self._leases.get(group, {}).items()
            if lease[1] > now
        }
        self._leases[group] = live
        return live


def _keys(group: str, owner: str | None) -> tuple[str, str]:
    """The group's key and the owner's, in one hash slot.
    Example: `("lease:{pdf-render}", "lease:{pdf-render}:lab:12")`."""
    base = f"{KEY_PREFIX}{{{group}}}"
    return base, f"{base}:{owner}"


_local_stores: "weakref.WeakKeyDictionary[Any, LocalLeaseStore]" = (
    weakref.WeakKeyDictionary()
)
_local_stores_lock = threading.Lock()


def lease_store() -> LeaseStore:
    """The store for the current cache service (Redis or in-process)."""
    redis = cache_redis()
    if redis is not None:
        return RedisLeaseStore(redis)
    return local_lease_store()


def local_lease_store() -> LocalLeaseStore:
    """This process's store, for the current cache client (tests rebuild
    clients, so they start with no leases)."""
    cache = get_client("cache")
    with _local_stores_lock:
        store = _local_stores.get(cache)
        if store is None:
            store = _local_stores[cache] = LocalLeaseStore()
        return store


def acquire_lease(
    group: str, owner: str, *, per_owner: int, total: int, ttl_seconds: float
) -> Lease:
    """A lease from lease_store(), or from this process's own store while
    Redis is unavailable (logged); raises LeaseRefused when the caps are
    full. See the module docstring."""
    caps: dict[str, Any] = {
        "per_owner": per_owner,
        "total": total,
        "ttl_seconds": ttl_seconds,
    }
    store = lease_store()
    try:
        return store.acquire(group, owner, **caps)
    except StoreUnavailable as down:
        logger.warning("Leases of %s held per process while Redis is down: %s",
                       group, down)  # fmt: skip
        return local_lease_store().acquire(group, owner, **caps)
