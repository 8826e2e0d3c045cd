"""Shipping entries to Elasticsearch: the real client against the
Elasticsearch stand-in (tests/standins/elasticsearch.py; no Elasticsearch can
run here). Nothing is lost when the store goes away mid-shipping, and
without a search server nothing is marked shipped."""

import io

import pytest
from django.core.management import CommandError, call_command

from core.activity_log.index import MAPPINGS, TEMPLATE_NAME, index_name
from core.activity_log.shipping import (
    ShipResult,
    ship_activity_logs,
    ship_all,
    ship_pending,
    shipping_lag_seconds,
)
from core.models import ActivityLog
from core.utils.capabilities import Capability
from core.utils.clients import get_client, override_client
from core.utils.elastic_search.errors import SearchNotConfigured, SearchUnavailable
from tests.backend_doubles import another_class_of
from tests.lifecycle.models import Instrument
from tests.standins.elasticsearch import ElasticsearchStandIn

pytestmark = pytest.mark.django_db


def write_entries(count: int) -> list[ActivityLog]:
    for n in range(count):
        Instrument(name=f"Analyser {n}", serial=f"S{n}").save()
    return list(ActivityLog.objects.order_by("id"))


def shipped_ids(standin: ElasticsearchStandIn) -> set[str]:
    return {
        doc_id for docs in standin.indices.values() for doc_id in docs.get("docs", {})
    }


def test_entries_go_to_monthly_indices_with_their_ids_and_are_marked(elasticsearch):
    entries = write_entries(3)
    assert shipping_lag_seconds() is not None

    result = ship_all()

    assert (result.shipped, result.failed) == (3, 0)
    index = index_name(entries[0].created_at)
    assert index in elasticsearch.indices
    assert shipped_ids(elasticsearch) == {str(e.id) for e in entries}
    assert not ActivityLog.objects.filter(shipped=False).exists()
    assert shipping_lag_seconds() is None
    ship_all()  # nothing pending: nothing sent again
    assert shipped_ids(elasticsearch) == {str(e.id) for e in entries}


def test_a_refused_document_stays_pending_and_goes_next_time(elasticsearch):
    entries = write_entries(3)
    elasticsearch.reject_item(str(entries[1].id), 503)

    first = ship_all()
    second = ship_all()

    assert (first.shipped, first.failed) == (2, 1)
    assert (second.shipped, second.failed) == (1, 0)
    assert shipped_ids(elasticsearch) == {str(e.id) for e in entries}


def test_with_the_store_gone_mid_shipping_nothing_is_lost(elasticsearch, settings):
    entries = write_entries(4)
    elasticsearch.fail_next(503, times=10)  # the store breaks down

    with pytest.raises(SearchUnavailable):
        ship_activity_logs.call()
    assert ActivityLog.objects.filter(shipped=False).count() == 4

    elasticsearch.reset()  # the store is back (empty, as after a restart)
    elasticsearch.fail_next(503, times=10)
    with pytest.raises(CommandError, match="stay pending"):
        call_command("ship_activity_logs")
    elasticsearch.reset()
    assert ship_activity_logs.call() == 4
    assert shipped_ids(elasticsearch) == {str(e.id) for e in entries}


def test_without_a_search_server_shipping_says_to_set_es_url_and_marks_nothing():
    # Given entries and no ES_URL (the null client)
    write_entries(2)

    # When they are shipped by hand, or by the job
    with pytest.raises(CommandError, match="Set ES_URL"):
        call_command("ship_activity_logs")
    with pytest.raises(SearchNotConfigured):
        ship_activity_logs.call()

    # Then nothing is marked shipped: they stay in the table, for a search
    # server configured later, and no retention prune can remove them
    assert ActivityLog.objects.filter(shipped=False).count() == 2


def test_a_worker_maintenance_round_seals_and_ships(database_engine, elasticsearch):
    entries = write_entries(2)

    report = get_client("fusion").recover()

    assert report["seal_all"] >= 2 and report["ship_pending"] == 2
    assert shipped_ids(elasticsearch) == {str(e.id) for e in entries}
    assert not ActivityLog.objects.filter(sealed=False).exists()


def test_with_the_embedded_store_maintenance_seals_but_does_not_copy(database_engine):
    write_entries(2)

    report = get_client("fusion").recover()

    assert report["ship_pending"] == 0
    assert ActivityLog.objects.filter(shipped=False).count() == 2
    assert not ActivityLog.objects.filter(sealed=False).exists()


def test_killing_the_store_mid_shipping_loses_nothing(elasticsearch):
    entries = write_entries(5)
    elasticsearch.die_after(2)  # the template and the first batch, then killed

    first = ship_all(batch_size=2)

    assert (first.shipped, first.failed) == (2, 2)
    assert ActivityLog.objects.filter(shipped=False).count() == 3
    elasticsearch.restart()  # back, with what it had stored
    assert ship_all(batch_size=2) == ShipResult(shipped=3, failed=0)
    assert shipped_ids(elasticsearch) == {str(e.id) for e in entries}
    assert not ActivityLog.objects.filter(shipped=False).exists()


def test_indices_come_from_one_index_template_with_explicit_mappings(elasticsearch):
    entries = write_entries(2)

    ship_all(batch_size=1)
    ship_all()

    template = elasticsearch.templates[TEMPLATE_NAME]
    assert template["index_patterns"] == ["activity-*"]
    assert template["template"]["mappings"] == MAPPINGS
    index = elasticsearch.indices[index_name(entries[0].created_at)]
    assert index["mappings"] == MAPPINGS  # created from the template on first write
    # Sent once by this client, not before every batch.
    assert elasticsearch.paths("PUT").count(f"/_index_template/{TEMPLATE_NAME}") == 1
    bulk = next(r for r in elasticsearch.requests if r.path == "/_bulk")
    assert bulk.query["refresh"] == ["wait_for"]  # searchable before marked


def test_a_search_client_of_any_class_that_says_it_is_a_server_is_shipped_to(
    elasticsearch,
):
    # Given an Elasticsearch-speaking client of another class (an OpenSearch
    # client, say) that declares itself a search server
    entries = write_entries(2)
    server = another_class_of(get_client("es"), frozenset({Capability.SEARCH_SERVER}))

    # When the maintenance round ships
    with override_client("es", server):
        shipped = ship_pending()

    # Then the entries went to it: the shipper asked, not checked the class
    assert shipped == 2
    assert shipped_ids(elasticsearch) == {str(e.id) for e in entries}


def test_a_search_client_that_does_not_say_it_is_a_server_is_not_shipped_to(
    elasticsearch,
):
    # Given the same client, declaring nothing
    write_entries(2)
    store = another_class_of(get_client("es"))

    # When the maintenance round ships
    with override_client("es", store):
        shipped = ship_pending()

    # Then nothing is sent and the entries wait in the database
    assert shipped == 0
    assert shipped_ids(elasticsearch) == set()
    assert ActivityLog.objects.filter(shipped=False).count() == 2


def test_resend_sends_shipped_entries_again_and_marks_nothing_twice(elasticsearch):
    # Given shipped entries, a store that lost them, and one pending entry
    entries = write_entries(3)
    ship_all()
    elasticsearch.reset()
    pending = write_entries(1)

    # When they are re-sent
    out = io.StringIO()
    call_command("ship_activity_logs", "--resend", stdout=out)

    # Then the store holds every entry once, and the pending one is shipped
    assert out.getvalue().splitlines()[0] == "resent 3"
    assert "shipped 1, not confirmed 0" in out.getvalue()
    assert shipped_ids(elasticsearch) == {str(e.id) for e in entries + pending[-1:]}
    assert not ActivityLog.objects.filter(shipped=False).exists()


def test_resend_stopped_by_the_store_says_to_run_it_again(elasticsearch):
    entries = write_entries(3)
    ship_all()
    elasticsearch.reset()
    elasticsearch.reject_item(str(entries[2].id), 503)

    with pytest.raises(CommandError, match=r"1 entries were not confirmed; run `ship"):
        call_command("ship_activity_logs", "--resend", stdout=io.StringIO())
    elasticsearch.fail_next(503, times=10)
    with pytest.raises(CommandError, match=r"3 entries were not confirmed; run `ship"):
        call_command("ship_activity_logs", "--resend", stdout=io.StringIO())

    assert ActivityLog.objects.filter(shipped=True).count() == 3  # flags untouched


def test_resend_without_a_search_server_says_to_set_es_url():
    write_entries(1)

    with pytest.raises(CommandError, match="Set ES_URL"):
        call_command("ship_activity_logs", "--resend", stdout=io.StringIO())
