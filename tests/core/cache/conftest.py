"""The instance cache on each backend: in-process, a real redis-server and a
real 3-master Redis Cluster, each started for the test session."""

from collections.abc import Iterator

import pytest

from core.cache import HashCache
from core.utils.clients import get_client, registry
from tests.cache_settings import cache_service
from tests.redis_servers import RedisServer, redis_cluster, redis_server


@pytest.fixture(scope="session")
def shared_redis() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


@pytest.fixture(scope="session")
def shared_cluster() -> Iterator[list[RedisServer]]:
    with redis_cluster() as nodes:
        yield nodes


def use_cache(settings, storage: str, **options) -> HashCache:
    """Point settings.SERVICES["cache"] at `storage` ("local", "redis",
    "cluster") with `options`, and return the new client."""
    settings.SERVICES = {
        **settings.SERVICES,
        "cache": cache_service(storage, **options),
    }
    registry.reset()
    cache: HashCache = get_client("cache")
    return cache


@pytest.fixture(params=["local", "redis", "cluster"])
def cache(request, settings) -> Iterator[HashCache]:
    """The instance cache on each backend, emptied before the test."""
    if request.param == "local":
        yield use_cache(settings, "local")
    elif request.param == "redis":
        server = request.getfixturevalue("shared_redis")
        server.client().flushall()
        yield use_cache(settings, "redis", url=server.url)
    else:
        nodes = request.getfixturevalue("shared_cluster")
        for node in nodes:
            node.client().flushall()
        yield use_cache(
            settings,
            "cluster",
            cluster_nodes=[f"127.0.0.1:{node.port}" for node in nodes],
        )
    registry.reset()


@pytest.fixture
def redis_cache(settings, shared_redis) -> Iterator[HashCache]:
    """The instance cache on the real single redis-server only."""
    shared_redis.client().flushall()
    yield use_cache(settings, "redis", url=shared_redis.url)
    registry.reset()
