"""settings.SERVICES["es"]: the null client unless ES_URL(S) is set."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.settings.services import build_services

pytestmark = pytest.mark.engine_independent

ES_VARIABLES = ("ES_URL", "ES_URLS", "ES_USERNAME", "ES_PASSWORD", "ES_API_KEY")


@pytest.fixture(autouse=True)
def no_es_environment(monkeypatch):
    for name in ES_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_by_default_there_is_no_search_server(tmp_path):
    es = build_services(tmp_path)["es"]

    assert es == {
        "BACKEND": "core.utils.elastic_search.null.NullSearchClient",
        "OPTIONS": {},
    }


def test_es_urls_select_elasticsearch_with_timeouts_and_retries(monkeypatch, tmp_path):
    monkeypatch.setenv("ES_URLS", "https://es1:9200, https://es2:9200")
    monkeypatch.setenv("ES_API_KEY", "key")
    monkeypatch.setenv("ES_REQUEST_TIMEOUT_SECONDS", "4")

    es = build_services(tmp_path)["es"]

    assert es["BACKEND"] == "core.utils.elastic_search.client.ElasticSearchClient"
    options = es["OPTIONS"]
    assert options["hosts"] == ["https://es1:9200", "https://es2:9200"]
    assert options["api_key"] == "key"
    assert options["request_timeout_seconds"] == 4
    assert options["max_retries"] == 3 and options["retry_on_timeout"] is True


def test_a_username_without_a_password_is_a_configuration_error(monkeypatch, tmp_path):
    monkeypatch.setenv("ES_URL", "https://es1:9200")
    monkeypatch.setenv("ES_USERNAME", "elastic")

    with pytest.raises(
        ImproperlyConfigured, match="ES_USERNAME and ES_PASSWORD go together"
    ):
        build_services(tmp_path)
