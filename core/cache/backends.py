"""Storages of the instance cache: Redis, Redis Cluster and in-process.

Chosen like every other backend, by class path:
`SERVICES["cache"]["OPTIONS"]["storage"] = {"BACKEND":
"core.cache.backends.RedisStorage", "OPTIONS": {"url": ...}}` (see
config/settings/services.py). A storage declares what it can do
(`capabilities`); code that needs the Redis itself (sessions, counters,
leases) asks `storage.can(Capability.SHARED_REDIS)`, never which class it is.

Stored values: field = instance id, value = "<version>|<json>". A value with
an empty JSON part is a tombstone: "version <version> was committed after
this row was cached; anything older is stale".

Every write goes through one compare-and-set rule, in a Lua script that
touches one key (so it runs unchanged on a Redis Cluster node):

    write (version, payload) unless the stored version is greater

The in-process backend applies the same rules under a lock. The one
exception is an operator's `evict` (`reset_cache_instance`), which replaces
even a newer cached version: after a restore from backup, or a table
re-created with ids starting again, the cache can be ahead of the database.
"""

from __future__ import annotations

import fnmatch
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple

from core.utils.capabilities import Capability, DeclaresCapabilities

#: Hash field marking that the hash holds a lab's complete list.
FIELD_COMPLETE = "__complete__"
#: Hash field counting invalidations, for whole-list fills.
FIELD_GENERATION = "__gen__"


class CachedValue(NamedTuple):
    """A cached row: its version and its JSON."""

    version: int
    payload: str


Row = tuple[str, int, str]  # (field, version, payload)


def decode(raw: bytes | str | None) -> CachedValue | None:
    """A stored value as a CachedValue; None for a miss or a tombstone."""
    if raw is None:
        return None
    text = raw.decode() if isinstance(raw, bytes) else raw
    version, _, payload = text.partition("|")
    if not payload:
        return None
    return CachedValue(int(version), payload)


def _encode(version: int, payload: str) -> str:
    return f"{version}|{payload}"


# -- storages: storage only; they raise on failure ------------------------

# KEYS[1] hash; ARGV: field, version, encoded value, ttl. 1 = written.
_CAS_SCRIPT = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current then
  local stored = tonumber(string.match(current, '^(%d+)|'))
  if stored and stored > tonumber(ARGV[2]) then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"""
# Tombstone with CAS; always bump the generation and mark the list incomplete.
_INVALIDATE_SCRIPT = f"""
local current = redis.call('HGET', KEYS[1], ARGV[1])
local stored = current and tonumber(string.match(current, '^(%d+)|'))
if not (stored and stored > tonumber(ARGV[2])) then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
end
redis.call('HINCRBY', KEYS[1], '{FIELD_GENERATION}', 1)
redis.call('HDEL', KEYS[1], '{FIELD_COMPLETE}')
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"""
# The same without the CAS: an operator's eviction replaces even a newer
# cached version (a row cached before a restore can be ahead of the database).
_EVICT_SCRIPT = f"""
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HINCRBY', KEYS[1], '{FIELD_GENERATION}', 1)
redis.call('HDEL', KEYS[1], '{FIELD_COMPLETE}')
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"""
# KEYS[1] hash; ARGV: generation, ttl, then field, version, value triples.
_FILL_LIST_SCRIPT = f"""
local generation = tonumber(redis.call('HGET', KEYS[1], '{FIELD_GENERATION}') or '0')
if generation ~= tonumber(ARGV[1]) then return 0 end
for i = 3, #ARGV, 3 do
  local current = redis.call('HGET', KEYS[1], ARGV[i])
  local stored = current and tonumber(string.match(current, '^(%d+)|'))
  if not (stored and stored > tonumber(ARGV[i + 1])) then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 2])
  end
end
redis.call('HSET', KEYS[1], '{FIELD_COMPLETE}', '1')
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""


# KEYS[1] hash; ARGV: ttl, then field, version, value triples. Returns how
# many rows were stored (the others had a newer version cached).
_FILL_MANY_SCRIPT = """
local stored_count = 0
for i = 2, #ARGV, 3 do
  local current = redis.call('HGET', KEYS[1], ARGV[i])
  local stored = current and tonumber(string.match(current, '^(%d+)|'))
  if not (stored and stored > tonumber(ARGV[i + 1])) then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 2])
    stored_count = stored_count + 1
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return stored_count
"""


class HashStorage(DeclaresCapabilities, ABC):
    """Storage primitives of the hash cache. Every method may raise.

    Subclasses take their settings `OPTIONS` as keyword arguments and
    declare their `capabilities`.
    """

    @abstractmethod
    def get_many(self, key: str, fields: Sequence[str]) -> list[Any]:
        """Raw stored values (None where absent), in the order of `fields`."""

    @abstractmethod
    def get_all(self, key: str) -> dict[str, Any]:
        """Every field of the hash, raw."""

    @abstractmethod
    def fill(self, key: str, field: str, version: int, payload: str, ttl: int) -> bool:
        """Compare-and-set one row; False if a newer version is stored."""

    def fill_many(self, key: str, rows: Sequence[Row], ttl: int) -> int:
        """`fill` for each row; how many were stored."""
        return sum(self.fill(key, field, v, payload, ttl) for field, v, payload in rows)

    @abstractmethod
    def invalidate(self, key: str, field: str, version: int, ttl: int) -> None:
        """Tombstone `field` at `version`, bump the generation, drop the
        complete-list mark."""

    @abstractmethod
    def evict(self, key: str, field: str, version: int, ttl: int) -> None:
        """`invalidate` without the version check: the tombstone at
        `version` replaces whatever is cached, even a newer version."""

    @abstractmethod
    def fill_list(
        self, key: str, generation: int, rows: Sequence[Row], ttl: int
    ) -> bool:
        """Store a whole list if the generation is still `generation`."""

    @abstractmethod
    def drop(self, key: str) -> None:
        """Delete the whole hash."""

    @abstractmethod
    def keys(self, pattern: str) -> Iterator[str]:
        """The hashes whose keys match the glob `pattern` (`*`, `?`)."""

    @abstractmethod
    def ping(self) -> None:
        """Raise unless the store answers."""

    def close(self) -> None:
        """Release connections."""

    def redis_client(self) -> Any:
        """The redis-py client of a storage with `Capability.SHARED_REDIS`,
        for keys of other features; other storages have none."""
        raise NotImplementedError(
            f"{type(self).__name__} keeps no Redis (it does not declare "
            "Capability.SHARED_REDIS); set CACHE_REDIS_URL or "
            "CACHE_REDIS_CLUSTER_NODES."
        )


class RedisClientStorage(HashStorage):
    """The hash operations on a redis-py client (Redis or Redis Cluster); the
    Lua scripts touch one key each, so they run on a cluster node unchanged.
    `RedisStorage` and `RedisClusterStorage` build the client."""

    capabilities = frozenset({Capability.SHARED_REDIS})

    def __init__(self, client: Any) -> None:
        self.client = client
        self._cas = client.register_script(_CAS_SCRIPT)
        self._invalidate = client.register_script(_INVALIDATE_SCRIPT)
        self._evict = client.register_script(_EVICT_SCRIPT)
        self._fill_list = client.register_script(_FILL_LIST_SCRIPT)
        self._fill_many = client.register_script(_FILL_MANY_SCRIPT)

    def get_many(self, key: str, fields: Sequence[str]) -> list[Any]:
        if len(fields) == 1:
            return [self.client.hget(key, fields[0])]
        return list(self.client.hmget(key, list(fields)))

    def get_all(self, key: str) -> dict[str, Any]:
        return {
            (k.decode() if isinstance(k, bytes) else k): v
            for k, v in self.client.hgetall(key).items()
        }

    def fill(self, key: str, field: str, version: int, payload: str, ttl: int) -> bool:
        encoded = _encode(version, payload)
        return bool(self._cas(keys=[key], args=[field, version, encoded, ttl]))

    def fill_many(self, key: str, rows: Sequence[Row], ttl: int) -> int:
        """All rows in one round trip (one script call on the one key)."""
        args: list[Any] = [ttl]
        for field, version, payload in rows:
            args += [field, version, _encode(version, payload)]
        return int(self._fill_many(keys=[key], args=args))

    def invalidate(self, key: str, field: str, version: int, ttl: int) -> None:
        self._invalidate(keys=[key], args=[field, version, _encode(version, ""), ttl])

    def evict(self, key: str, field: str, version: int, ttl: int) -> None:
        self._evict(keys=[key], args=[field, version, _encode(version, ""), ttl])

    def fill_list(
        self, key: str, generation: int, rows: Sequence[Row], ttl: int
    ) -> bool:
        args: list[Any] = [generation, ttl]
        for field, version, payload in rows:
            args += [field, version, _encode(version, payload)]
        return bool(self._fill_list(keys=[key], args=args))

    def drop(self, key: str) -> None:
        self.client.delete(key)

    def keys(self, pattern: str) -> Iterator[str]:
        # SCAN, not KEYS: it does not block the server; on a cluster,
        # redis-py scans every primary.
        for key in self.client.scan_iter(match=pattern, count=1000):
            yield key.decode() if isinstance(key, bytes) else key

    def ping(self) -> None:
        self.client.ping()

    def close(self) -> None:
        self.client.close()

    def redis_client(self) -> Any:
        """The redis-py client: sessions, counters and leases share its pool."""
        return self.client


class RedisStorage(RedisClientStorage):
    """One Redis server, through a pooled redis-py client.

    Options: `url` (`redis://host:6379/0`, `rediss://` for TLS),
    `socket_timeout_seconds` (connect and each call; short, so an outage
    costs one timeout before the breaker opens), `max_connections`.
    """

    capabilities = frozenset({Capability.SHARED_REDIS})

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        socket_timeout_seconds: float = 0.1,
        max_connections: int = 50,
    ) -> None:
        import redis  # only deployments using Redis need the package loaded

        pool = redis.ConnectionPool.from_url(
            url,
            **_socket_options(socket_timeout_seconds, max_connections),
            retry=_no_retry(),
            health_check_interval=30,
        )
        super().__init__(redis.Redis(connection_pool=pool))


class RedisClusterStorage(RedisClientStorage):
    """A Redis Cluster, through redis-py's `RedisCluster`.

    Options: `cluster_nodes` (`["host:port", ...]`, any reachable nodes; the
    rest are discovered), `socket_timeout_seconds`, `max_connections` (per
    node).
    """

    capabilities = frozenset({Capability.SHARED_REDIS})

    def __init__(
        self,
        cluster_nodes: Sequence[str],
        socket_timeout_seconds: float = 0.1,
        max_connections: int = 50,
    ) -> None:
        from redis.cluster import ClusterNode, RedisCluster

        if not cluster_nodes:
            raise ValueError(
                "RedisClusterStorage needs cluster_nodes, e.g. ['10.0.0.1:7000'] "
                "(CACHE_REDIS_CLUSTER_NODES)."
            )
        nodes = [ClusterNode(*node.rsplit(":", 1)) for node in cluster_nodes]
        options = _socket_options(socket_timeout_seconds, max_connections)
        client = RedisCluster(startup_nodes=nodes, retry=_no_retry(), **options)
        super().__init__(client)


def _no_retry() -> Any:
    """redis-py's retry policy for the cache: none. A call that times out
    fails at once (a miss, counted by the breaker) instead of being retried
    with backoff: redis-py's cluster client otherwise retries a timed-out
    command up to 10 times (a read on a frozen node took 1.15 s, not one
    timeout). Redirections (MOVED, ASK) are still followed: they are not
    retries."""
    # Local imports, as in the storages: only deployments using Redis load it.
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return Retry(NoBackoff(), retries=0)


def _socket_options(timeout_seconds: float, max_connections: int) -> dict[str, Any]:
    return {
        "socket_timeout": timeout_seconds,
        "socket_connect_timeout": timeout_seconds,
        "max_connections": max_connections,
    }


class LocalStorage(HashStorage):
    """In-process store with the same rules, for the embedded default (one
    process) and for tests without Redis. Takes no options (`clock` is for
    tests of expiry)."""

    capabilities = frozenset({Capability.STAND_IN})

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._hashes: dict[str, tuple[float, dict[str, str]]] = {}
        self._clock = clock

    def _hash(self, key: str, create: bool = False) -> dict[str, str]:
        expires_at, fields = self._hashes.get(key, (0.0, {}))
        if expires_at and expires_at <= self._clock():
            fields = {}
            self._hashes.pop(key, None)
        if create and key not in self._hashes:
            self._hashes[key] = (float("inf"), fields)
        return fields

    def _touch(self, key: str, ttl: int) -> None:
        self._hashes[key] = (self._clock() + ttl, self._hashes[key][1])

    @staticmethod
    def _newer_stored(fields: dict[str, str], field: str, version: int) -> bool:
        current = fields.get(field)
        return current is not None and int(current.partition("|")[0]) > version

    def get_many(self, key: str, fields: Sequence[str]) -> list[Any]:
        with self._lock:
            stored = self._hash(key)
            return [stored.get(field) for field in fields]

    def get_all(self, key: str) -> dict[str, Any]:
        with self._lock:
            return dict(self._hash(key))

    def fill(self, key: str, field: str, version: int, payload: str, ttl: int) -> bool:
        with self._lock:
            stored = self._hash(key, create=True)
            if self._newer_stored(stored, field, version):
                return False
            stored[field] = _encode(version, payload)
            self._touch(key, ttl)
            return True

    def invalidate(self, key: str, field: str, version: int, ttl: int) -> None:
        self._tombstone(key, field, version, ttl, check_version=True)

    def evict(self, key: str, field: str, version: int, ttl: int) -> None:
        self._tombstone(key, field, version, ttl, check_version=False)

    def _tombstone(
        self, key: str, field: str, version: int, ttl: int, *, check_version: bool
    ) -> None:
        with self._lock:
            stored = self._hash(key, create=True)
            if not (check_version and self._newer_stored(stored, field, version)):
                stored[field] = _encode(version, "")
            stored[FIELD_GENERATION] = str(int(stored.get(FIELD_GENERATION, 0)) + 1)
            stored.pop(FIELD_COMPLETE, None)
            self._touch(key, ttl)

    def fill_list(
        self, key: str, generation: int, rows: Sequence[Row], ttl: int
    ) -> bool:
        with self._lock:
            stored = self._hash(key, create=True)
            if int(stored.get(FIELD_GENERATION, 0)) != generation:
                return False
            for field, version, payload in rows:
                if not self._newer_stored(stored, field, version):
                    stored[field] = _encode(version, payload)
            stored[FIELD_COMPLETE] = "1"
            self._touch(key, ttl)
            return True

    def drop(self, key: str) -> None:
        with self._lock:
            self._hashes.pop(key, None)

    def keys(self, pattern: str) -> Iterator[str]:
        with self._lock:
            names = [key for key in self._hashes if fnmatch.fnmatchcase(key, pattern)]
        return iter(names)

    def ping(self) -> None:
        return None
