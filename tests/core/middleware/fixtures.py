"""Fixtures and helpers shared by the tests of sign-in, middleware and
decorators: users, JSON sign-in, and real redis-servers started by the test
run (one shared server, one 3-master cluster, and a per-test server to kill).

Each fixture is registered under its short name (`staff`) and defined as
`<name>_fixture`, so a test module can import it without its parameter
shadowing the import; test modules outside this folder import the
`*_fixture` functions they use.
"""

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from admin.account.models import Lab, User
from core.cache import HashCache
from core.utils.clients import get_client, registry
from tests.redis_servers import RedisServer, redis_cluster, redis_server

PASSWORD = "correct horse 42"
LOGIN_URL = "/core/auth/login/"
LOGOUT_URL = "/core/auth/logout/"
#: Settings of a cache meant to be killed: fast timeouts, a fast breaker.
FAULT_OPTIONS = {
    "socket_timeout_seconds": 0.1,
    "failure_threshold": 2,
    "reset_after_seconds": 0.3,
}


def make_user(
    username: str, lab: Lab | None, kind: str = "staff", **fields: Any
) -> User:
    """A saved user of `lab` with PASSWORD."""
    user: User = User.objects.create_user(
        username, password=PASSWORD, kind=kind, lab=lab, **fields
    )
    return user


def sign_in(client: Client, username: str, password: str = PASSWORD, **body: Any):
    """POST the JSON sign-in; returns the response."""
    return client.post(
        LOGIN_URL,
        json.dumps({"username": username, "password": password, **body}),
        content_type="application/json",
    )


def post_json(client: Client, url: str, body: Any, **headers: str):
    """POST `body` as JSON."""
    return client.post(
        url, json.dumps(body), content_type="application/json", headers=headers
    )


@pytest.fixture(name="api_urls")
def api_urls_fixture(settings) -> None:
    """The project's URLs plus the test views of tests/core/middleware/views.py."""
    settings.ROOT_URLCONF = "tests.core.middleware.views"


@pytest.fixture(name="staff")
def staff_fixture(labs) -> User:
    """Lab staff of Central (which has North, South and North Clinic below)."""
    return make_user("asha", labs["central"], first_name="Asha", last_name="Rao")


@pytest.fixture(name="doctor")
def doctor_fixture(labs) -> User:
    """A doctor of North."""
    return make_user("dr.sen", labs["north"], kind="doctor")


def use_redis_cache(settings, **options: Any) -> HashCache:
    """Point the cache service (and so sessions and counters) at Redis."""
    settings.SERVICES = {
        **settings.SERVICES,
        "cache": {"BACKEND": "core.cache.HashCache", "OPTIONS": options},
    }
    settings.SESSION_ENGINE = "core.auth.sessions"
    registry.reset()
    cache: HashCache = get_client("cache")
    return cache


@pytest.fixture(scope="session", name="shared_redis")
def shared_redis_fixture() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


@pytest.fixture(scope="session", name="shared_cluster")
def shared_cluster_fixture() -> Iterator[list[RedisServer]]:
    with redis_cluster() as nodes:
        yield nodes


@pytest.fixture(name="on_redis")
def on_redis_fixture(settings, shared_redis) -> Iterator[RedisServer]:
    """Sessions and counters on the shared redis-server, emptied first."""
    shared_redis.client().flushall()
    use_redis_cache(settings, backend="redis", url=shared_redis.url)
    yield shared_redis
    registry.reset()


@pytest.fixture(name="on_cluster")
def on_cluster_fixture(settings, shared_cluster) -> Iterator[list[RedisServer]]:
    """Sessions and counters on the shared Redis Cluster, emptied first."""
    for node in shared_cluster:
        node.client().flushall()
    use_redis_cache(
        settings,
        backend="cluster",
        cluster_nodes=[f"127.0.0.1:{node.port}" for node in shared_cluster],
    )
    yield shared_cluster
    registry.reset()


@pytest.fixture(name="faulty_redis")
def faulty_redis_fixture(settings) -> Iterator[RedisServer]:
    """Sessions and counters on a redis-server of this test's own, to kill."""
    server = RedisServer()
    use_redis_cache(settings, backend="redis", url=server.url, **FAULT_OPTIONS)
    yield server
    server.stop()
    registry.reset()
