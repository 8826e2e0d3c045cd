"""settings.SERVICES["cache"] and SESSION_ENGINE from the environment: the
same CACHE_REDIS_* variables choose a storage class, and sessions follow
what that class declares, not its name."""

import pytest

from config.settings.services import build_services, session_engine
from core.cache.backends import LocalStorage
from core.utils.capabilities import Capability

pytestmark = pytest.mark.engine_independent

CACHE_VARIABLES = ("CACHE_REDIS_URL", "CACHE_REDIS_CLUSTER_NODES")


class SharedElsewhere(LocalStorage):
    """A storage no one named Redis that declares a shared Redis."""

    capabilities = frozenset({Capability.SHARED_REDIS})


@pytest.fixture(autouse=True)
def no_cache_environment(monkeypatch):
    for name in CACHE_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def storage_of(tmp_path):
    return build_services(tmp_path)["cache"]["OPTIONS"]["storage"]


def test_by_default_the_cache_is_in_process(tmp_path):
    assert storage_of(tmp_path) == {
        "BACKEND": "core.cache.backends.LocalStorage",
        "OPTIONS": {},
    }


def test_cache_redis_url_selects_redis_with_its_timeout(monkeypatch, tmp_path):
    monkeypatch.setenv("CACHE_REDIS_URL", "redis://cache.internal:6379/0")
    monkeypatch.setenv("CACHE_REDIS_TIMEOUT_MS", "250")

    assert storage_of(tmp_path) == {
        "BACKEND": "core.cache.backends.RedisStorage",
        "OPTIONS": {
            "url": "redis://cache.internal:6379/0",
            "socket_timeout_seconds": 0.25,
        },
    }


def test_cluster_nodes_select_a_redis_cluster(monkeypatch, tmp_path):
    monkeypatch.setenv("CACHE_REDIS_URL", "redis://ignored:6379/0")
    monkeypatch.setenv("CACHE_REDIS_CLUSTER_NODES", "10.0.0.1:7000,10.0.0.2:7000")

    storage = storage_of(tmp_path)

    assert storage["BACKEND"] == "core.cache.backends.RedisClusterStorage"
    assert storage["OPTIONS"]["cluster_nodes"] == ["10.0.0.1:7000", "10.0.0.2:7000"]


@pytest.mark.parametrize(
    ("storage", "engine"),
    [
        ("core.cache.backends.LocalStorage", "django.contrib.sessions.backends.db"),
        ("core.cache.backends.RedisStorage", "core.auth.sessions"),
        ("core.cache.backends.RedisClusterStorage", "core.auth.sessions"),
        (f"{__name__}.SharedElsewhere", "core.auth.sessions"),
    ],
)
def test_sessions_go_where_the_storage_says_a_shared_redis_is(storage, engine):
    cache = {
        "BACKEND": "core.cache.HashCache",
        "OPTIONS": {"storage": {"BACKEND": storage}},
    }

    assert session_engine(cache) == engine
