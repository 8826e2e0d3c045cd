"""What the search client promises (ElasticSearchClient against the
Elasticsearch stand-in): the calls and result types the activity log relies
on."""

from datetime import UTC, datetime, timedelta

import pytest

from core.utils.elastic_search import (
    BulkFailure,
    SearchHit,
    SearchRequestError,
    SearchResult,
)

pytestmark = pytest.mark.engine_independent

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


def _activity(client, count=5):
    """`count` activity documents: lab 1 for even numbers, lab 2 for odd."""
    actions = [
        {
            "_index": "activity",
            "_id": f"a{n}",
            "_source": {
                "lab_id": 1 if n % 2 == 0 else 2,
                "action": "update" if n else "create",
                "created_at": T0 + timedelta(minutes=n),
                "n": n,
            },
        }
        for n in range(count)
    ]
    result = client.bulk(actions, refresh=True)
    assert result.ok and result.succeeded == count, result


def test_ensure_index_creates_once(search_client):
    assert search_client.ensure_index("activity", {"properties": {}}) is True
    assert search_client.ensure_index("activity", {"properties": {}}) is False


def test_an_indexed_document_can_be_read_back_and_replaced(search_client):
    doc_id = search_client.index_document(
        "activity", {"lab_id": 1, "at": T0}, id="d1", refresh=True
    )
    search_client.index_document("activity", {"lab_id": 2}, id="d1", refresh=True)

    assert doc_id == "d1"
    assert search_client.get_document("activity", "d1") == {"lab_id": 2}
    assert search_client.get_document("activity", "missing") is None


def test_a_document_without_an_id_gets_one(search_client):
    doc_id = search_client.index_document("activity", {"lab_id": 1}, refresh=True)

    assert doc_id
    assert search_client.get_document("activity", doc_id) == {"lab_id": 1}


def test_term_range_sort_and_size(search_client):
    _activity(search_client)

    result = search_client.search(
        "activity",
        {
            "bool": {
                "filter": [
                    {"term": {"lab_id": 1}},
                    {"range": {"created_at": {"gte": T0 + timedelta(minutes=1)}}},
                ]
            }
        },
        sort=[{"created_at": {"order": "desc"}}],
        size=1,
    )

    assert isinstance(result, SearchResult)
    assert result.total == 2  # a2 and a4; a0 is before the range
    assert result.hits == [
        SearchHit(
            index="activity",
            id="a4",
            source={
                "lab_id": 1,
                "action": "update",
                "created_at": "2024-05-01T09:04:00.000000Z",
                "n": 4,
            },
        )
    ]


def test_terms_must_not_exists_and_paging(search_client):
    _activity(search_client)

    result = search_client.search(
        "activity",
        {
            "bool": {
                "filter": {"terms": {"n": [0, 1, 2, 3]}},
                "must_not": [{"term": {"action": "create"}}],
                "must": [{"exists": {"field": "lab_id"}}],
            }
        },
        sort="n:asc",
        size=2,
        from_=1,
    )

    assert result.total == 3
    assert [hit.id for hit in result.hits] == ["a2", "a3"]


def test_range_bounds_are_exclusive_or_inclusive_as_asked(search_client):
    _activity(search_client)

    def ids(bounds):
        result = search_client.search(
            "activity", {"range": {"n": bounds}}, sort="n", size=10
        )
        return [hit.id for hit in result.hits]

    assert ids({"gt": 1, "lt": 3}) == ["a2"]
    assert ids({"gte": 1, "lte": 3}) == ["a1", "a2", "a3"]


def test_searching_a_missing_index_finds_nothing(search_client):
    assert search_client.search("nothing-here") == SearchResult(total=0, hits=[])


def test_bulk_reports_each_failure_with_its_position(search_client):
    search_client.index_document("activity", {"n": 0}, id="taken", refresh=True)

    result = search_client.bulk(
        [
            {"_index": "activity", "_id": "ok-1", "_source": {"n": 1}},
            {"_op_type": "create", "_index": "activity", "_id": "taken", "_source": {}},
            {"_op_type": "update", "_index": "activity", "_id": "x", "_source": {}},
            {"_index": "Bad Index", "_source": {"n": 3}},
            {"_op_type": "delete", "_index": "activity", "_id": "ok-1"},
        ],
        refresh=True,
    )

    assert result.succeeded == 2
    assert [(f.position, f.status) for f in result.failures] == [
        (1, 409),
        (2, 400),
        (3, 400),
    ]
    conflict, unsupported, bad_name = result.failures
    assert isinstance(conflict, BulkFailure) and conflict.id == "taken"
    assert "already exists" in conflict.error
    assert "'update' is not supported" in unsupported.error
    assert "is not a valid index name" in bad_name.error
    assert search_client.get_document("activity", "ok-1") is None


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.search("Activity"), "not a valid index name"),
        (lambda c: c.index_document("_hidden", {}), "not a valid index name"),
        (lambda c: c.index_document("a", {}, id="x" * 513), "1 to 512 bytes"),
        (lambda c: c.index_document("a", {"at": datetime(2024, 1, 1)}), "aware"),  # noqa: DTZ001
        (lambda c: c.search("a", sort="n:sideways"), "must be 'asc' or 'desc'"),
        (lambda c: c.search("a", sort="_id"), "cannot sort on _id"),
    ],
)
def test_bad_requests_are_refused_the_same_way(search_client, call, message):
    with pytest.raises(SearchRequestError, match=message):
        call(search_client)


def test_check_reports_healthy(search_client):
    status = search_client.check(timeout=1)

    assert status.ok, status


def test_missing_and_null_fields_behave_as_in_elasticsearch(search_client):
    search_client.bulk(
        [
            {"_index": "activity", "_id": "set", "_source": {"action": "create"}},
            {"_index": "activity", "_id": "missing", "_source": {"other": 1}},
            {"_index": "activity", "_id": "null", "_source": {"action": None}},
        ],
        refresh=True,
    )

    def ids(query):
        return sorted(hit.id for hit in search_client.search("activity", query).hits)

    # must_not keeps documents without the field; null is in no range and
    # does not exist.
    assert ids({"bool": {"must_not": {"term": {"action": "create"}}}}) == [
        "missing",
        "null",
    ]
    assert ids({"range": {"action": {"gte": "a"}}}) == ["set"]
    assert ids({"exists": {"field": "action"}}) == ["set"]
