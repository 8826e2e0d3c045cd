"""Fixtures for activity log tests: Fusion maintenance rounds, and the real
Elasticsearch client pointed at the Elasticsearch stand-in."""

from collections.abc import Iterator

import pytest

from core.utils.clients import registry
from tests.standins.elasticsearch import ElasticsearchStandIn

API_KEY = "c3RhbmQtaW46a2V5LW5ldmVyLXNob3du"  # the stand-in's test key


@pytest.fixture
def elasticsearch(settings) -> Iterator[ElasticsearchStandIn]:
    with ElasticsearchStandIn(api_key=API_KEY) as standin:
        settings.SERVICES = {
            **settings.SERVICES,
            "es": {
                "BACKEND": "core.utils.elastic_search.client.ElasticSearchClient",
                "OPTIONS": {
                    "hosts": [standin.url],
                    "api_key": API_KEY,
                    "request_timeout_seconds": 2,
                    "max_retries": 0,
                    "retry_backoff_base_seconds": 0,
                    "retry_backoff_cap_seconds": 0,
                    "bulk_max_retries": 0,
                    "bulk_initial_backoff_seconds": 0,
                },
            },
        }
        registry.reset()
        yield standin
        registry.reset()
        assert standin.problems == []
