"""DatabaseSearchClient specifics: it refuses queries it cannot answer
exactly, stores documents in core tables, and stays inside the caller's
transaction."""

import pytest
from django.db import transaction

from core.models import SearchDocument
from core.utils.elastic_search import SearchRequestError
from core.utils.elastic_search.database import MAX_RESULT_WINDOW, DatabaseSearchClient

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"match": {"name": "x"}}, "does not support 'match' queries; supported: "),
        ({"bool": {"should": []}}, "bool clauses \\['should'\\] are not supported"),
        ({"term": {"a": 1}, "range": {}}, "a query is one clause"),
        ({"term": {"a__b": 1}}, "not a field name"),
        ({"range": {"n": {"from": 1}}}, "use gt, gte, lt, lte"),
        ({"terms": {"n": []}}, "non-empty list"),
    ],
)
def test_queries_it_cannot_answer_exactly_are_refused(query, message):
    with pytest.raises(SearchRequestError, match=message):
        DatabaseSearchClient().search("activity", query)


def test_a_page_beyond_the_result_window_is_refused():
    with pytest.raises(
        SearchRequestError, match=f"from_ \\+ size <= {MAX_RESULT_WINDOW}"
    ):
        DatabaseSearchClient().search("activity", size=10, from_=MAX_RESULT_WINDOW)


def test_documents_are_rows_unique_per_index_and_id():
    client = DatabaseSearchClient()

    client.index_document("activity", {"n": 1}, id="same")
    client.index_document("activity", {"n": 2}, id="same")
    client.index_document("other", {"n": 3}, id="same")

    rows = SearchDocument.objects.order_by("index").values_list(
        "index", "doc_id", "body"
    )
    assert list(rows) == [("activity", "same", {"n": 2}), ("other", "same", {"n": 3})]


def test_a_bulk_inside_a_rolled_back_transaction_leaves_nothing():
    client = DatabaseSearchClient()

    with pytest.raises(RuntimeError), transaction.atomic():
        client.bulk([{"_index": "activity", "_id": "1", "_source": {"n": 1}}])
        raise RuntimeError("the surrounding work failed")

    assert not SearchDocument.objects.exists()


def test_a_create_conflict_does_not_undo_the_rest_of_the_bulk():
    client = DatabaseSearchClient()
    client.index_document("activity", {"n": 0}, id="taken")

    result = client.bulk(
        [
            {"_index": "activity", "_id": "a", "_source": {"n": 1}},
            {"_op_type": "create", "_index": "activity", "_id": "taken", "_source": {}},
            {"_index": "activity", "_id": "b", "_source": {"n": 2}},
        ]
    )

    assert result.succeeded == 2 and [f.status for f in result.failures] == [409]
    assert SearchDocument.objects.filter(doc_id__in=["a", "b"]).count() == 2
    assert client.get_document("activity", "taken") == {"n": 0}
