"""The Elasticsearch stand-in against Elasticsearch's own documented examples.

The requests and responses below are the examples of the Elasticsearch API
specification (github.com/elastic/elasticsearch-specification:
`_global/bulk/examples` BulkRequestExample1 / BulkResponseExample1,
`indices/put_index_template/examples` IndicesPutIndexTemplateRequestExample1,
`_global/search/examples` SearchRequestExample1 / SearchResponseExample1).
They are sent over HTTP as the 9.x client sends them, and the stand-in must
answer what Elasticsearch documents, field for field where the value is
determined (took and timings are not). If it did not, the project's tests
against it would prove nothing.
"""

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.standins.elasticsearch import ElasticsearchStandIn
from tests.standins.elasticsearch.server import JSON_TYPE, NDJSON_TYPE

pytestmark = pytest.mark.engine_independent

BULK_EXAMPLE = (
    '{ "index" : { "_index" : "test", "_id" : "1" } }\n'
    '{ "field1" : "value1" }\n'
    '{ "delete" : { "_index" : "test", "_id" : "2" } }\n'
    '{ "create" : { "_index" : "test", "_id" : "3" } }\n'
    '{ "field1" : "value3" }\n'
    '{ "update" : {"_id" : "1", "_index" : "test"} }\n'
    '{ "doc" : {"field2" : "value2"} }\n'
)
#: BulkResponseExample1, without `took` and the sequence bookkeeping
#: (`_seq_no`, `_primary_term`), which depend on the cluster's history.
BULK_EXAMPLE_ITEMS = [
    {"index": {"_index": "test", "_id": "1", "_version": 1, "result": "created",
               "_shards": {"total": 2, "successful": 1, "failed": 0},
               "status": 201}},
    {"delete": {"_index": "test", "_id": "2", "_version": 1, "result": "not_found",
                "_shards": {"total": 2, "successful": 1, "failed": 0},
                "status": 404}},
    {"create": {"_index": "test", "_id": "3", "_version": 1, "result": "created",
                "_shards": {"total": 2, "successful": 1, "failed": 0},
                "status": 201}},
    {"update": {"_index": "test", "_id": "1", "_version": 2, "result": "updated",
                "_shards": {"total": 2, "successful": 1, "failed": 0},
                "status": 200}},
]  # fmt: skip
TEMPLATE_EXAMPLE = {
    "index_patterns": ["template*"],
    "priority": 1,
    "template": {"settings": {"number_of_shards": 2}},
}
SEARCH_EXAMPLE_SOURCE = {
    "@timestamp": "2099-11-15T14:12:12",
    "http": {
        "request": {"method": "get"},
        "response": {"status_code": 200, "bytes": 1070000},
        "version": "1.1",
    },
    "source": {"ip": "127.0.0.1"},
    "message": "GET /search HTTP/1.1 200 1070000",
    "user": {"id": "kimchy"},
}


@pytest.fixture
def standin() -> Iterator[ElasticsearchStandIn]:
    with ElasticsearchStandIn() as server:
        yield server
        assert server.problems == []


def call(
    standin: ElasticsearchStandIn, method: str, path: str, body: Any = None
) -> tuple[int, Any]:
    """One request as the 9.x client sends it: (status, parsed JSON body)."""
    if isinstance(body, str):
        data, content_type = body.encode(), NDJSON_TYPE
    else:
        data = None if body is None else json.dumps(body).encode()
        content_type = JSON_TYPE
    url = f"{standin.url}{path}"
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310
    request.add_header("Accept", JSON_TYPE)
    if data is not None:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            assert response.headers["X-Elastic-Product"] == "Elasticsearch"
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def without(item: dict[str, Any], *keys: str) -> dict[str, Any]:
    ((op, body),) = item.items()
    return {op: {k: v for k, v in body.items() if k not in keys}}


def test_the_documented_bulk_example_gets_the_documented_answer(standin):
    status, answer = call(standin, "POST", "/_bulk", BULK_EXAMPLE)

    assert status == 200
    assert answer["errors"] is False  # a delete of nothing is not an error
    items = [without(item, "_seq_no", "_primary_term") for item in answer["items"]]
    assert items == BULK_EXAMPLE_ITEMS
    seq_nos = [next(iter(item.values()))["_seq_no"] for item in answer["items"]]
    assert seq_nos == sorted(seq_nos)
    status, doc = call(standin, "GET", "/test/_doc/1")
    assert status == 200
    assert doc["_source"] == {"field1": "value1", "field2": "value2"}


def test_the_documented_index_template_example_is_stored_and_applied(standin):
    status, answer = call(
        standin, "PUT", "/_index_template/template_1", TEMPLATE_EXAMPLE
    )
    assert (status, answer) == (200, {"acknowledged": True})

    status, listed = call(standin, "GET", "/_index_template/template_1")
    assert status == 200
    assert listed == {
        "index_templates": [{"name": "template_1", "index_template": TEMPLATE_EXAMPLE}]
    }
    status, missing = call(standin, "GET", "/_index_template/nope")
    assert status == 404
    assert missing["error"]["type"] == "resource_not_found_exception"


def test_a_template_mapping_refuses_what_elasticsearch_refuses(standin):
    mappings = {"dynamic": "strict", "properties": {"n": {"type": "long"}}}
    strict = {"index_patterns": ["logs-*"], "template": {"mappings": mappings}}
    call(standin, "PUT", "/_index_template/logs", strict)

    status, answer = call(
        standin,
        "POST",
        "/_bulk",
        '{"index": {"_index": "logs-1", "_id": "a"}}\n{"n": 1}\n'
        '{"index": {"_index": "logs-1", "_id": "b"}}\n{"n": 1, "extra": 2}\n'
        '{"index": {"_index": "logs-1", "_id": "c"}}\n{"n": "one"}\n',
    )

    assert status == 200 and answer["errors"] is True
    statuses = [item["index"]["status"] for item in answer["items"]]
    assert statuses == [201, 400, 400]
    errors = [item["index"].get("error", {}).get("type") for item in answer["items"]]
    assert errors[1:] == [
        "strict_dynamic_mapping_exception",
        "document_parsing_exception",
    ]


def test_the_documented_search_example_gets_the_documented_shape(standin):
    call(standin, "PUT", "/my-index-000001/_doc/0", SEARCH_EXAMPLE_SOURCE)
    call(standin, "PUT", "/my-index-000001/_doc/1", {"user": {"id": "other"}})

    status, answer = call(
        standin,
        "POST",
        "/my-index-000001/_search?from=0&size=20",
        {"query": {"term": {"user.id": "kimchy"}}},
    )

    assert status == 200
    assert answer["timed_out"] is False
    assert answer["_shards"] == {"total": 1, "successful": 1, "skipped": 0,
                                 "failed": 0}  # fmt: skip
    assert answer["hits"]["total"] == {"value": 1, "relation": "eq"}
    (hit,) = answer["hits"]["hits"]
    assert {k: hit[k] for k in ("_index", "_id", "_source")} == {
        "_index": "my-index-000001", "_id": "0", "_source": SEARCH_EXAMPLE_SOURCE
    }  # fmt: skip
    status, paged = call(
        standin, "POST", "/my-index-000001/_search?from=40&size=20",
        {"query": {"term": {"user.id": "kimchy"}}},
    )  # fmt: skip
    assert (status, paged["hits"]["hits"]) == (200, [])


def test_a_missing_index_gets_the_documented_error(standin):
    status, answer = call(standin, "POST", "/nope/_search", {})

    assert status == 404
    assert answer["status"] == 404
    assert answer["error"]["type"] == "index_not_found_exception"
    assert answer["error"]["root_cause"][0]["type"] == "index_not_found_exception"


def test_a_request_without_the_compatibility_headers_is_refused(standin):
    request = urllib.request.Request(f"{standin.url}/", method="GET")  # noqa: S310
    request.add_header("Accept", "application/json")

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)  # noqa: S310

    assert refused.value.code == 400
    assert standin.problems and "compatible-with=9" in standin.problems[0]
    standin.problems.clear()


def test_a_query_it_does_not_implement_is_refused_not_guessed(standin):
    call(standin, "PUT", "/i/_doc/1", {"message": "hello"})

    status, _ = call(
        standin, "POST", "/i/_search", {"query": {"match": {"message": "hello"}}}
    )

    assert status == 400
    assert "does not support 'match'" in standin.problems[0]
    standin.problems.clear()


def test_a_killed_stand_in_drops_the_request_and_refuses_connections(standin):
    standin.die_after(1)
    assert call(standin, "GET", "/")[0] == 200

    with pytest.raises((urllib.error.URLError, ConnectionError)):
        call(standin, "GET", "/")
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        call(standin, "GET", "/")
    standin.restart()
    assert call(standin, "GET", "/")[0] == 200
