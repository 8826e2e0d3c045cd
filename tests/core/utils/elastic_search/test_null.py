"""NullSearchClient, the `es` service without ES_URL: it stores and answers
nothing, says so naming ES_URL, and reports the service as off."""

import pytest

from core.utils.capabilities import Capability
from core.utils.clients import get_client, registry
from core.utils.elastic_search import SearchNotConfigured
from core.utils.elastic_search.null import OFF_DETAIL, NullSearchClient

pytestmark = pytest.mark.engine_independent

CALLS = {
    "ensure_index": lambda c: c.ensure_index("activity"),
    "ensure_index_template": lambda c: c.ensure_index_template(
        "activity-log", ["activity-*"], {}
    ),
    "index_document": lambda c: c.index_document("activity", {"n": 1}, id="1"),
    "bulk": lambda c: c.bulk([{"_index": "activity", "_id": "1", "_source": {}}]),
    "search": lambda c: c.search("activity-*", {"match_all": {}}),
    "get_document": lambda c: c.get_document("activity", "1"),
}


@pytest.fixture
def default_es(settings, tmp_path, monkeypatch):
    """The `es` service as settings build it with no ES_* variables."""
    from config.settings.services import build_services

    for name in ("ES_URL", "ES_URLS"):
        monkeypatch.delenv(name, raising=False)
    settings.SERVICES = {**settings.SERVICES, "es": build_services(tmp_path)["es"]}
    registry.reset()
    yield get_client("es")
    registry.reset()


def test_get_client_es_works_without_elasticsearch(default_es):
    # Given no ES_URL (the embedded default)
    # When the seed's `get_client("es")` is called
    # Then it returns a client, which is not a search server
    assert isinstance(default_es, NullSearchClient)
    assert not default_es.can(Capability.SEARCH_SERVER)


def test_its_check_is_healthy_and_says_the_service_is_off(default_es):
    status = default_es.check(timeout=1)

    assert status.ok
    assert status.detail == OFF_DETAIL
    assert "ES_URL" in status.detail


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
def test_every_call_refuses_naming_es_url(call):
    # Given the null client; when anything is indexed, searched or read
    with pytest.raises(SearchNotConfigured) as refused:
        call(NullSearchClient())

    # Then the error says what is missing and how to configure it
    assert "no search server is configured" in str(refused.value)
    assert "Set ES_URL" in str(refused.value)
