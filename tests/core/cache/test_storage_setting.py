"""The cache's storage is a class path with its options, like every backend;
a wrong one is a configuration error that says what would be right."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from core.cache import HashCache
from core.cache.backends import LocalStorage, RedisClusterStorage, RedisStorage


def test_without_a_storage_the_cache_is_in_process():
    assert isinstance(HashCache().storage, LocalStorage)


def test_the_storage_is_built_from_its_class_path_and_options(shared_redis):
    cache = HashCache(
        storage={
            "BACKEND": "core.cache.backends.RedisStorage",
            "OPTIONS": {"url": shared_redis.url, "socket_timeout_seconds": 0.5},
        }
    )

    assert isinstance(cache.storage, RedisStorage)
    assert cache.storage.client.connection_pool.connection_kwargs[
        "socket_timeout"
    ] == pytest.approx(0.5)
    status = cache.check(timeout=1)
    assert status.ok and status.detail == "RedisStorage, breaker closed"
    cache.close()


@pytest.mark.parametrize(
    ("storage", "message"),
    [
        ({"OPTIONS": {}}, r"\['BACKEND'\] must be the dotted path of a storage"),
        ({"BACKEND": "core.cache.backends.Nowhere"}, "must be the dotted path"),
        ({"BACKEND": "core.cache.HashCache"}, "is not a HashStorage class"),
        ({"BACKEND": "collections.OrderedDict"}, "is not a HashStorage class"),
    ],
)
def test_a_wrong_storage_is_a_configuration_error_naming_the_setting(storage, message):
    with pytest.raises(ImproperlyConfigured, match=message) as refused:
        HashCache(storage=storage)

    assert "SERVICES['cache']['OPTIONS']['storage']" in str(refused.value)


def test_a_cluster_storage_needs_its_nodes():
    with pytest.raises(ValueError, match="CACHE_REDIS_CLUSTER_NODES"):
        RedisClusterStorage(cluster_nodes=[])


def test_an_in_process_storage_has_no_redis_to_share():
    with pytest.raises(NotImplementedError, match="CACHE_REDIS_URL"):
        LocalStorage().redis_client()
