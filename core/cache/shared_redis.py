"""The cache service's Redis connection, shared by sessions and counters.

Sessions (`core.auth.sessions`) and rate-limit counters
(`core.ratelimit.counters`) live in the Redis or Redis Cluster that
settings.SERVICES["cache"] points at, through the instance cache's own pooled
client (its storage's `redis_client()`) and its circuit breaker: one
set of connections per process, short socket timeouts, and, during an
outage, one breaker for everything that uses that Redis, so a request waits
for at most one timeout before every user of it knows Redis is down.

Every call here stores one key, so it runs unchanged on a cluster node.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.utils.capabilities import Capability
from core.utils.circuit_breaker import CircuitBreaker
from core.utils.clients import get_client


class StoreUnavailable(Exception):
    """Redis could not be used (down, timing out, or the breaker is open)."""


@dataclass(frozen=True)
class CacheRedis:
    """The cache service's redis-py client with its breaker."""

    client: Any
    breaker: CircuitBreaker

    def call[T](self, operation: Callable[[Any], T]) -> T:
        """`operation(client)`, or StoreUnavailable if Redis fails or the
        breaker is open. Example: `link.call(lambda r: r.get("k"))`."""
        # Local import: only deployments that use Redis reach this point.
        from redis.exceptions import RedisClusterException, RedisError

        if not self.breaker.allow():
            raise StoreUnavailable("Redis is unavailable (circuit breaker open).")
        try:
            result = operation(self.client)
        except (RedisError, RedisClusterException, OSError) as exc:
            self.breaker.record_failure()
            failure = type(exc).__name__
            raise StoreUnavailable(f"Redis call failed ({failure}).") from exc
        self.breaker.record_success()
        return result


def cache_redis() -> CacheRedis | None:
    """The cache service's Redis, or None when its storage keeps no Redis
    that every process shares (in-process, the embedded default)."""
    cache = get_client("cache")
    if not cache.storage.can(Capability.SHARED_REDIS):
        return None
    return CacheRedis(client=cache.storage.redis_client(), breaker=cache.breaker)
