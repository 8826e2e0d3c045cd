"""settings.SERVICES["cache"] for tests, by storage: what
config/settings/services.py builds from CACHE_REDIS_URL or
CACHE_REDIS_CLUSTER_NODES, with a test's own servers and bounds."""

from typing import Any

#: The storages tests run on, by the name their parameters use.
STORAGES = {
    "local": "core.cache.backends.LocalStorage",
    "redis": "core.cache.backends.RedisStorage",
    "cluster": "core.cache.backends.RedisClusterStorage",
}
#: Options of the HashCache itself; every other option is the storage's.
CACHE_OPTIONS = ("failure_threshold", "reset_after_seconds")


def cache_service(storage: str, **options: Any) -> dict[str, Any]:
    """The cache service on `storage` ("local", "redis" or "cluster").

    Example: `cache_service("redis", url=server.url, failure_threshold=2)`:
    the breaker's options go to the HashCache, `url`, `cluster_nodes` and
    `socket_timeout_seconds` to the storage.
    """
    cache = {name: options.pop(name) for name in CACHE_OPTIONS if name in options}
    return {
        "BACKEND": "core.cache.HashCache",
        "OPTIONS": {
            "storage": {"BACKEND": STORAGES[storage], "OPTIONS": options},
            **cache,
        },
    }
