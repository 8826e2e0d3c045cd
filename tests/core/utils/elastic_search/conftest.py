"""Fixtures for the search client.

No Elasticsearch server can be installed here, so `ElasticSearchClient` (the
real `elasticsearch` 9 client, over real HTTP) talks to the Elasticsearch
stand-in in tests/standins/elasticsearch.py, which checks every request.
"""

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from core.utils.elastic_search.client import ElasticSearchClient
from tests.standins.elasticsearch import ElasticsearchStandIn

#: The API key the stand-in accepts (test data, not a secret).
API_KEY = "c3RhbmQtaW46a2V5LW5ldmVyLXNob3du"


@pytest.fixture(scope="module")
def standin_server() -> Iterator[ElasticsearchStandIn]:
    with ElasticsearchStandIn(api_key=API_KEY) as server:
        yield server


@pytest.fixture
def standin(standin_server: ElasticsearchStandIn) -> Iterator[ElasticsearchStandIn]:
    """The module's stand-in, emptied for each test; a test that leaves a
    protocol problem behind fails."""
    standin_server.reset()
    yield standin_server
    assert standin_server.problems == []


@pytest.fixture
def make_es_client(
    standin: ElasticsearchStandIn,
) -> Iterator[Callable[..., ElasticSearchClient]]:
    """Builds ElasticSearchClients for the stand-in, without backoff sleeps."""
    built: list[ElasticSearchClient] = []

    def make(**options: Any) -> ElasticSearchClient:
        defaults: dict[str, Any] = {
            "hosts": [standin.url],
            "api_key": API_KEY,
            "request_timeout_seconds": 5,
            "retry_backoff_base_seconds": 0,
            "retry_backoff_cap_seconds": 0,
            "bulk_initial_backoff_seconds": 0,
        }
        client = ElasticSearchClient(**{**defaults, **options})
        built.append(client)
        return client

    yield make
    for client in built:
        client.close()


@pytest.fixture
def search_client(make_es_client: Callable[..., Any]) -> Any:
    """The real client against the stand-in, for the contract tests."""
    return make_es_client()
