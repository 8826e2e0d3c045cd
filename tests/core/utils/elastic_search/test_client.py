"""ElasticSearchClient against the Elasticsearch stand-in: what goes over
the wire, retries, timeouts, and what the caller sees when the cluster is
overloaded, slow, down or refuses the credentials."""

import json
import logging
import socket

import pytest

from core.utils.clients import get_client, registry
from core.utils.elastic_search import SearchRequestError, SearchUnavailable
from core.utils.elastic_search.client import ElasticSearchClient
from tests.core.utils.elastic_search.conftest import API_KEY

pytestmark = pytest.mark.engine_independent


def _docs(*ids):
    return [{"_index": "activity", "_id": i, "_source": {"n": i}} for i in ids]


def test_requests_carry_the_api_key_and_gzip_bodies(make_es_client, standin):
    client = make_es_client()

    client.index_document("activity", {"lab_id": 1}, id="d1")

    [request] = standin.requests
    assert (request.method, request.path) == ("PUT", "/activity/_doc/d1")
    assert request.headers["authorization"] == f"ApiKey {API_KEY}"
    assert request.headers["content-encoding"] == "gzip"
    assert request.json() == {"lab_id": 1}


def test_bulk_sends_one_ndjson_request_with_refresh(make_es_client, standin):
    client = make_es_client()

    result = client.bulk(_docs("a", "b"), refresh="wait_for")

    assert result.ok and result.succeeded == 2
    [request] = standin.requests
    assert (request.method, request.path) == ("PUT", "/_bulk")
    assert request.query["refresh"] == ["wait_for"]
    lines = [json.loads(line) for line in request.body.decode().splitlines()]
    assert lines == [
        {"index": {"_index": "activity", "_id": "a"}},
        {"n": "a"},
        {"index": {"_index": "activity", "_id": "b"}},
        {"n": "b"},
    ]


def test_an_overloaded_cluster_is_retried(make_es_client, standin):
    client = make_es_client(max_retries=3)
    standin.fail_next(503)
    standin.fail_next(429)

    client.index_document("activity", {"n": 1}, id="d1")

    assert standin.paths("PUT") == ["/activity/_doc/d1"] * 3
    assert client.get_document("activity", "d1") == {"n": 1}


def test_a_cluster_that_stays_overloaded_is_reported_after_the_retries(
    make_es_client, standin
):
    client = make_es_client(max_retries=2)
    standin.fail_next(503, times=3)

    with pytest.raises(SearchUnavailable) as excinfo:
        client.index_document("activity", {"n": 1}, id="d1")

    assert "could not index a document into 'activity' (503" in str(excinfo.value)
    assert "after 2 retries; try again later" in str(excinfo.value)
    assert len(standin.requests) == 3


@pytest.mark.parametrize(("retry_on_timeout", "attempts"), [(True, 2), (False, 1)])
def test_a_slow_cluster_times_out(make_es_client, standin, retry_on_timeout, attempts):
    client = make_es_client(
        request_timeout_seconds=0.2, max_retries=1, retry_on_timeout=retry_on_timeout
    )
    standin.hang_next(times=2)

    with pytest.raises(SearchUnavailable, match=r"did not answer .*ConnectionTimeout"):
        client.search("activity", {"term": {"lab_id": 1}})

    assert len(standin.requests) == attempts


def test_a_cluster_that_is_down_is_reported():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = ElasticSearchClient(
        [f"http://127.0.0.1:{port}"], max_retries=1, retry_backoff_base_seconds=0
    )

    with pytest.raises(SearchUnavailable, match=r"\(ConnectionError\) after 1 retries"):
        client.index_document("activity", {"n": 1})
    status = client.check(timeout=0.5)

    assert not status.ok and status.detail == "ConnectionError"
    client.close()


def test_documents_rejected_with_429_are_sent_again(make_es_client, standin):
    client = make_es_client(bulk_max_retries=3)
    standin.reject_item("b", 429, times=2)

    result = client.bulk(_docs("a", "b", "c"))

    assert result.ok and result.succeeded == 3
    bulk_bodies = [r.body.decode() for r in standin.requests if r.path == "/_bulk"]
    assert len(bulk_bodies) == 3
    assert '"_id":"b"' in bulk_bodies[2] and '"_id":"a"' not in bulk_bodies[2]


def test_a_document_rejected_every_time_is_reported_with_its_position(
    make_es_client, standin
):
    client = make_es_client(bulk_max_retries=1)
    standin.reject_item("b", 429, times=5)

    result = client.bulk(_docs("a", "b", "c"))

    assert result.succeeded == 2
    [failure] = result.failures
    assert (failure.position, failure.id, failure.status) == (1, "b", 429)
    assert failure.error == "stand_in_rejection: rejected"


def test_a_bulk_the_cluster_never_answers_lists_every_action_as_not_confirmed(
    make_es_client, standin
):
    client = make_es_client(request_timeout_seconds=0.2, max_retries=0)
    standin.hang_next()

    result = client.bulk(_docs("a", "b"))

    assert result.succeeded == 0
    assert [(f.position, f.status) for f in result.failures] == [(0, 0), (1, 0)]
    assert "not confirmed" in result.failures[0].error
    assert "send it again later" in result.failures[0].error


def test_a_bulk_refused_as_a_whole_lists_every_action(make_es_client, standin):
    client = make_es_client(max_retries=0)
    standin.fail_next(503)

    result = client.bulk(_docs("a", "b"))

    assert [(f.position, f.status) for f in result.failures] == [(0, 503), (1, 503)]


def test_wrong_credentials_say_what_to_check_without_showing_them(
    make_es_client, standin
):
    client = make_es_client(api_key="wrong-key-never-shown")

    with pytest.raises(SearchRequestError) as excinfo:
        client.search("activity")

    message = str(excinfo.value)
    assert "refused to search 'activity' (401 security_exception" in message
    assert "Check ES_USERNAME/ES_PASSWORD or ES_API_KEY" in message
    assert "wrong-key-never-shown" not in message


def test_check_is_one_bounded_try_and_red_is_down(make_es_client, standin):
    client = make_es_client(max_retries=3)

    assert client.check(timeout=1).detail == "cluster green"
    standin.fail_next(503)
    assert not client.check(timeout=1).ok
    standin.cluster_status = "red"
    assert client.check(timeout=1).detail == "SearchUnavailable"
    assert standin.paths() == ["/_cluster/health"] * 3


def test_credentials_in_a_host_url_are_masked(standin, caplog):
    caplog.set_level(logging.INFO, logger="core.utils.elastic_search")
    url = standin.url.replace("http://", "http://elastic:pa55-never-shown@")

    client = ElasticSearchClient([url])

    assert (
        repr(client)
        == f"<ElasticSearchClient {url.replace('elastic:pa55-never-shown', '***')}>"
    )
    assert "pa55-never-shown" not in caplog.text + repr(client)
    client.close()


def test_get_client_builds_it_from_settings(settings, standin):
    registry.reset()
    settings.SERVICES = {
        **settings.SERVICES,
        "es": {
            "BACKEND": "core.utils.elastic_search.client.ElasticSearchClient",
            "OPTIONS": {"hosts": [standin.url], "api_key": API_KEY},
        },
    }
    try:
        client = get_client("es")
        assert isinstance(client, ElasticSearchClient)
        assert get_client("es") is client
        assert client.check().ok
    finally:
        registry.reset()


def test_compression_can_be_turned_off(make_es_client, standin):
    client = make_es_client(http_compress=False)

    client.index_document("activity", {"n": 1}, id="plain")

    [request] = standin.requests
    assert "content-encoding" not in request.headers
    assert request.json() == {"n": 1}
