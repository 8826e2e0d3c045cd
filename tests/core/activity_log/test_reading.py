"""get_activities reads Elasticsearch when it is configured and answering,
the database otherwise, and the pages are the same either way: the real
client against the Elasticsearch stand-in (no Elasticsearch can run here)."""

from typing import Any

import pytest

from core.activity_log.index import INDEX_PATTERN, to_document
from core.activity_log.reading import get_activities
from core.activity_log.shipping import ship_all, ship_batch
from core.models import ActivityLog
from core.utils.capabilities import Capability
from core.utils.clients import get_client, override_client
from core.utils.elastic_search.null import NullSearchClient
from patients.models import Patient
from tests.backend_doubles import another_class_of

pytestmark = pytest.mark.django_db

#: Filters a reader uses, by reader lab (see the `labs` fixture's tree).
QUERIES: list[dict[str, Any]] = [
    {"lab": "north"},
    {"lab": "central"},  # a parent reads its child's entries
    {"lab": "south"},  # a sibling reads none
    {"lab": "north_clinic"},  # a child never reads its parent's
    {"lab": "central", "action": "update"},
    {"lab": "central", "actor_id": "user:7"},
    {"lab": "central", "text": "RECHECKED"},  # case-insensitive substring
    {"lab": "central", "text": "50% * of"},  # wildcard characters are literal
    {"lab": "central", "text": "*"},
    {"lab": "central", "text": "nothing like it"},
    {"lab": "central", "today": True},
]


def every_page(labs, patient: Patient, query: dict[str, Any]) -> list[Any]:
    """All pages, two entries at a time, as comparable values."""
    query = dict(query)
    lab = labs[query.pop("lab")]
    if query.pop("today", False):
        today = ActivityLog.objects.latest("id").created_at.astimezone(lab.zone).date()
        query.update(start_date=today, end_date=today)
    pages, cursor = [], None
    while True:
        page = get_activities(
            "patients.patient", patient.pk, lab_id=lab.pk, limit=2, cursor=cursor,
            **query,
        )  # fmt: skip
        pages.append([to_document(entry) for entry in page.entries])
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


def read_all(labs, patients: list[Patient]) -> list[Any]:
    return [every_page(labs, p, q) for p in patients for q in QUERIES]


def test_the_pages_are_the_same_from_elasticsearch_and_the_database(
    elasticsearch, labs, history
):
    with override_client("es", NullSearchClient()):
        expected = read_all(labs, history)
    assert any(len(pages[0]) == 2 for pages in expected)  # some have more pages

    nothing_shipped = read_all(labs, history)
    ship_batch(limit=3)
    half_shipped = read_all(labs, history)
    ship_all()
    all_shipped = read_all(labs, history)

    assert nothing_shipped == expected
    assert half_shipped == expected
    assert all_shipped == expected
    searches = [r for r in elasticsearch.requests if r.path.endswith("/_search")]
    assert searches and all(r.path == f"/{INDEX_PATTERN}/_search" for r in searches)


def test_shipped_entries_are_answered_by_elasticsearch(elasticsearch, labs, history):
    ship_all()
    ana = history[0]
    # Changed behind the database's back (the stand-in's copy): the reader
    # must be showing Elasticsearch's documents, not the table's rows.
    for index in elasticsearch.indices.values():
        for source in index["docs"].values():
            source["message"] = "from the search store"

    page = get_activities("patients.patient", ana.pk, lab_id=labs["north"].pk)

    assert {e.message for e in page.entries} == {"from the search store"}
    assert all(e.shipped for e in page.entries)


def test_a_search_server_of_any_class_answers_reads(elasticsearch, labs, history):
    # Given shipped entries whose search copies differ from the table's rows,
    # and a search client of another class that declares itself a server
    ship_all()
    for index in elasticsearch.indices.values():
        for source in index["docs"].values():
            source["message"] = "from the search store"
    server = another_class_of(get_client("es"), frozenset({Capability.SEARCH_SERVER}))

    # When a record's history is read through it
    with override_client("es", server):
        page = get_activities(
            "patients.patient", history[0].pk, lab_id=labs["north"].pk
        )

    # Then the search server answered: the reader asked, not checked the class
    assert {e.message for e in page.entries} == {"from the search store"}


def test_unshipped_entries_come_from_the_database_beside_shipped_ones(
    elasticsearch, labs, history
):
    ship_all()
    ana = history[0]
    ana.first_name = "Ana Final"
    ana.save()

    page = get_activities("patients.patient", ana.pk, lab_id=labs["north"].pk)

    assert page.entries[0].changes["first_name"]["new"] == "Ana Final"
    assert [e.shipped for e in page.entries] == [False, True, True, True, True]


def test_with_elasticsearch_failing_reads_come_from_the_database_then_stop_asking(
    elasticsearch, labs, history
):
    ship_all()
    with override_client("es", NullSearchClient()):
        expected = read_all(labs, history[:1])
    elasticsearch.fail_next(503, times=100)

    first = read_all(labs, history[:1])
    asked = len(elasticsearch.requests)
    second = read_all(labs, history[:1])

    assert first == expected and second == expected
    assert len(elasticsearch.requests) == asked  # the breaker is open: not asked


def test_with_elasticsearch_gone_reads_come_from_the_database(
    elasticsearch, labs, history
):
    ship_all()
    with override_client("es", NullSearchClient()):
        expected = read_all(labs, history)
    elasticsearch.stop()

    assert read_all(labs, history) == expected
