"""Fixtures for the health check tests: real failures to check against.
Imported by the conftest files of tests/core/health and tests/core/view.

- `database_unreachable`: new connections to the default database fail (the
  checks' threads open new ones), as when the server is down: on
  PostgreSQL the port is one nothing listens on, on SQLite the file is in a
  folder that does not exist. The test's own connection, already open, is
  untouched.
- `elasticsearch`: the Elasticsearch stand-in (no Elasticsearch can run
  here) behind the real client, configured with a URL that carries a user
  and password, as operators write ES_URL.
- `faulty_redis`: a redis-server of the test's own, behind the cache service,
  to kill or freeze.
"""

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections

from core.utils.clients import registry
from tests.cache_settings import cache_service
from tests.redis_servers import RedisServer
from tests.standins.elasticsearch import ElasticsearchStandIn

ES_USER = "elastic"
#: In the ES URL; it must never reach a health response.
ES_PASSWORD = "pa55-never-shown"


def closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def use_service(
    settings: Any, service: str, client_class: str, /, **options: Any
) -> None:
    """Point settings.SERVICES[service] at `client_class` with `options`."""
    settings.SERVICES = {
        **settings.SERVICES,
        service: {"BACKEND": client_class, "OPTIONS": options},
    }
    registry.reset()


@pytest.fixture
def database_unreachable(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    database = connections.settings[DEFAULT_DB_ALIAS]
    if connection.vendor == "sqlite":
        monkeypatch.setitem(database, "NAME", "/nonexistent-folder/lis.sqlite3")
    else:
        monkeypatch.setitem(database, "HOST", "127.0.0.1")
        monkeypatch.setitem(database, "PORT", str(closed_port()))


@pytest.fixture
def elasticsearch(settings: Any) -> Iterator[ElasticsearchStandIn]:
    with ElasticsearchStandIn(basic_auth=(ES_USER, ES_PASSWORD)) as standin:
        host = standin.url.replace("http://", f"http://{ES_USER}:{ES_PASSWORD}@")
        use_service(
            settings,
            "es",
            "core.utils.elastic_search.client.ElasticSearchClient",
            hosts=[host],
            request_timeout_seconds=5,
            max_retries=0,
        )
        yield standin
        registry.reset()
        assert standin.problems == []


@pytest.fixture
def faulty_cache(settings: Any) -> Iterator[RedisServer]:
    """The cache service on a redis-server of this test's own, to stop or
    freeze (short timeouts, the default breaker)."""
    server = RedisServer()
    settings.SERVICES = {
        **settings.SERVICES,
        "cache": cache_service("redis", url=server.url, socket_timeout_seconds=0.1),
    }
    registry.reset()
    yield server
    registry.reset()
    server.stop()
