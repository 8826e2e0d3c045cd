"""cache_redis(): sessions, counters and leases find the cache service's Redis
by what its storage declares (Capability.SHARED_REDIS), never by its class
or by what attributes it happens to have."""

from typing import Any

import pytest

from core.cache.backends import LocalStorage
from core.cache.shared_redis import cache_redis
from core.utils.capabilities import Capability
from core.utils.clients import registry

#: The shared redis-server of the test, for `SharedBySomethingElse`.
_server: dict[str, Any] = {}


class SharedBySomethingElse(LocalStorage):
    """A storage of no Redis class, with no `client` attribute, that says it
    keeps a Redis every process shares (a Valkey storage, say)."""

    capabilities = frozenset({Capability.SHARED_REDIS})

    def redis_client(self) -> Any:
        return _server["client"]


class InProcessWithAClient(LocalStorage):
    """An in-process storage that has a `client` attribute but declares no
    shared Redis."""

    capabilities = frozenset()
    client = object()


def use_storage(settings, storage_class: type) -> None:
    path = f"{storage_class.__module__}.{storage_class.__qualname__}"
    settings.SERVICES = {
        **settings.SERVICES,
        "cache": {
            "BACKEND": "core.cache.HashCache",
            "OPTIONS": {"storage": {"BACKEND": path, "OPTIONS": {}}},
        },
    }
    registry.reset()


@pytest.fixture
def redis_behind_another_class(settings, shared_redis):
    shared_redis.client().flushall()
    _server["client"] = shared_redis.client()
    use_storage(settings, SharedBySomethingElse)
    yield shared_redis
    _server.clear()
    registry.reset()


def test_a_storage_of_any_class_that_declares_a_shared_redis_is_used(
    redis_behind_another_class,
):
    # Given the cache's storage declares SHARED_REDIS (not a Redis class)
    # When a feature that keeps its keys in that Redis writes one
    link = cache_redis()
    assert link is not None
    link.call(lambda redis: redis.set("session:probe", "1"))

    # Then it went to that storage's Redis
    assert redis_behind_another_class.client().get("session:probe") == b"1"


def test_a_storage_that_does_not_declare_a_shared_redis_is_not_used(settings):
    # Given a storage with a `client` attribute but no SHARED_REDIS
    use_storage(settings, InProcessWithAClient)

    # When the cache's Redis is asked for, then there is none
    assert cache_redis() is None
    registry.reset()
