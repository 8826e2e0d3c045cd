"""A document Elasticsearch refuses for good (a per-item 400 in a bulk
answer) is quarantined with Elasticsearch's reason, and shipping goes on
past it: the lag recovers, the job does not fail, nothing is lost, retention
prunes around it, and a retry after the fix ships it. The real client
against the Elasticsearch stand-in (no Elasticsearch can run here)."""

import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from core.activity_log.chain import seal_all, verify_lab
from core.activity_log.reading import get_activities
from core.activity_log.retention import prune_expired
from core.activity_log.shipping import (
    ship_activity_logs,
    ship_all,
    shipping_lag_seconds,
)
from core.health import Status
from core.health.checks import check_shipping_lag
from core.models import ActivityLog, ActivityLogShipQuarantine
from tests.core.activity_log.test_shipping import shipped_ids, write_entries
from tests.lifecycle.models import Instrument
from tests.standins.elasticsearch import ElasticsearchStandIn

pytestmark = pytest.mark.django_db


def poison(standin: ElasticsearchStandIn, entry: ActivityLog, kind: str) -> None:
    """Elasticsearch will refuse `entry` until `standin.accept_document`."""
    standin.refuse_document(str(entry.id), kind)


@pytest.mark.parametrize(
    "kind",
    ["mapper_parsing_exception", "document_parsing_exception",
     "illegal_argument_exception"],
)  # fmt: skip
def test_a_refused_document_is_quarantined_and_shipping_goes_on(elasticsearch, kind):
    # Given the oldest pending entry is one Elasticsearch refuses for good
    entries = write_entries(5)
    poison(elasticsearch, entries[0], kind)

    # When shipping runs in small batches, as the job does, twice
    first = ship_all(batch_size=2)
    second = ship_all(batch_size=2)

    # Then the rest shipped past it, and it is quarantined with the reason
    assert (first.shipped, first.failed, first.quarantined) == (4, 0, 1)
    assert (second.shipped, second.failed, second.quarantined) == (0, 0, 0)
    assert shipped_ids(elasticsearch) == {str(e.id) for e in entries[1:]}
    row = ActivityLogShipQuarantine.objects.get()
    assert (row.entry_id, row.status, row.error_type) == (entries[0].id, 400, kind)
    assert row.reason.startswith("[1:42] failed to parse field [client_ip]")
    assert row.attempts == 1 and row.lab_id == entries[0].lab_id
    # the lag is back to normal: nothing waits
    assert shipping_lag_seconds() is None
    # and nothing is lost: the entry is still in the table, unshipped
    assert ActivityLog.objects.filter(id=entries[0].id, shipped=False).exists()


def test_a_transient_refusal_still_waits_for_a_later_run(elasticsearch):
    # A 503 for one item is the cluster, not the document: no quarantine;
    # the entry stays pending for the next run, and the lag shows it.
    entries = write_entries(2)
    elasticsearch.reject_item(str(entries[0].id), 503, times=1)

    result = ship_all(batch_size=1)

    assert (result.shipped, result.failed, result.quarantined) == (0, 1, 0)
    assert shipping_lag_seconds() is not None
    assert not ActivityLogShipQuarantine.objects.exists()


def test_the_job_does_not_fail_for_a_quarantined_entry(elasticsearch):
    entries = write_entries(3)
    poison(elasticsearch, entries[1], "document_parsing_exception")

    # When the Fusion job runs: it returns, so it is not retried to death
    assert ship_activity_logs.call() == 2

    assert ActivityLogShipQuarantine.objects.count() == 1


def test_readiness_shows_the_quarantined_count(elasticsearch, settings):
    settings.HEALTH_CHECK_SHIPPING_MAX_LAG_SECONDS = 900
    entries = write_entries(3)
    poison(elasticsearch, entries[0], "mapper_parsing_exception")
    poison(elasticsearch, entries[2], "mapper_parsing_exception")

    ship_all()
    status, detail = check_shipping_lag(1.0)

    assert status is Status.DEGRADED
    assert detail == (
        "every entry shipped; 2 quarantined (refused by Elasticsearch: "
        "manage.py quarantined_activity_logs)"
    )


def test_the_command_lists_them_and_a_retry_after_the_fix_ships_them(
    elasticsearch, capsys
):
    entries = write_entries(3)
    poison(elasticsearch, entries[0], "mapper_parsing_exception")
    poison(elasticsearch, entries[1], "mapper_parsing_exception")
    ship_all()

    call_command("quarantined_activity_logs")
    listing = capsys.readouterr().out
    # A retry before the fix: refused again, one more attempt, still there
    with pytest.raises(CommandError, match="still quarantined"):
        call_command("quarantined_activity_logs", "--retry")
    elasticsearch.accept_document(str(entries[0].id))  # the mapping is fixed
    call_command("quarantined_activity_logs", "--retry", "--id", str(entries[0].id))
    retried = capsys.readouterr().out

    assert f"entry {entries[0].id}  lab -  since " in listing
    assert "attempts 1  400 mapper_parsing_exception: [1:42] failed" in listing
    assert "2 quarantined entries" in listing
    assert "shipped 1, refused again 0, not confirmed 0" in retried
    assert str(entries[0].id) in shipped_ids(elasticsearch)
    assert ActivityLog.objects.get(id=entries[0].id).shipped
    (left,) = ActivityLogShipQuarantine.objects.all()
    assert (left.entry_id, left.attempts) == (entries[1].id, 2)
    with pytest.raises(CommandError, match="not quarantined: 999999"):
        call_command("quarantined_activity_logs", "--retry", "--id", "999999")


def test_a_quarantined_entry_is_read_from_the_database(elasticsearch):
    # Given an instrument whose creation entry Elasticsearch refuses
    instrument = Instrument(name="Analyser", serial="S1")
    instrument.save()
    entry = ActivityLog.objects.get()
    poison(elasticsearch, entry, "mapper_parsing_exception")
    instrument.name = "Analyser 2"
    instrument.save()

    ship_all()
    page = get_activities(entry.model_label, entry.instance_id)

    # Then its history still shows both entries
    assert [e.id for e in page.entries] == [entry.id + 1, entry.id]


@pytest.mark.django_db(transaction=True)
def test_retention_prunes_past_a_quarantined_entry_and_keeps_it(
    elasticsearch, settings
):
    settings.ACTIVITY_LOG_DB_RETENTION_DAYS = 30
    entries = write_entries(4)
    seal_all()
    poison(elasticsearch, entries[1], "mapper_parsing_exception")
    ship_all()

    report = prune_expired(now=timezone.now() + dt.timedelta(days=31))

    # Then the cut went past it: the shipped ones left, it alone stayed
    assert [r.removed for r in report.pruned] == [3]
    assert list(ActivityLog.objects.values_list("id", flat=True)) == [entries[1].id]
    assert verify_lab(0) is None  # its seal still checks it
