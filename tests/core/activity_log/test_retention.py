"""Retention: by default the database keeps every entry; with a retention
set, only sealed entries that were shipped and are old enough leave, as a
verified prefix of each lab's chain, and verification goes on from the cut."""

import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from core.activity_log.chain import seal_all, verify_lab
from core.activity_log.retention import prune_expired
from core.models import ActivityLog, ActivityLogPrune
from patients.models import Patient
from tests.conftest import requires_postgresql
from tests.core.activity_log.test_chain import raw_sql

pytestmark = pytest.mark.django_db(transaction=True)

#: "Now" for the prune: a month and a day after the entries were written.
LATER = dt.timedelta(days=31)


def history(lab, count: int) -> list[ActivityLog]:
    """`count` sealed entries about one patient of `lab`, oldest first."""
    patient = Patient(lab=lab, first_name="P0", sex="F")
    patient.save()
    for n in range(1, count):
        patient.first_name = f"P{n}"
        patient.save()
    seal_all()
    return list(ActivityLog.objects.filter(lab_id=lab.pk).order_by("id"))


def ship(entries: list[ActivityLog]) -> None:
    """Mark as Elasticsearch would have confirmed them (the shipper's flag)."""
    ActivityLog.objects.filter(id__in=[e.id for e in entries]).mark_shipped()


def remaining(lab) -> list[int]:
    return list(
        ActivityLog.objects.filter(lab_id=lab.pk)
        .order_by("id")
        .values_list("id", flat=True)
    )


def test_by_default_the_database_keeps_every_entry(labs, settings, capsys):
    settings.ACTIVITY_LOG_DB_RETENTION_DAYS = None
    entries = history(labs["north"], 3)
    ship(entries)

    report = prune_expired(now=timezone.now() + dt.timedelta(days=365 * 20))
    call_command("prune_activity_logs")

    assert (report.pruned, report.refused) == ([], [])

    assert remaining(labs["north"]) == [e.id for e in entries]
    assert "nothing pruned" in capsys.readouterr().out


def test_old_shipped_entries_leave_as_a_prefix_and_the_chain_still_verifies(
    labs, settings
):
    settings.ACTIVITY_LOG_DB_RETENTION_DAYS = 30
    entries = history(labs["north"], 5)
    ship([entries[0], entries[1], entries[3]])  # #3 not yet shipped

    (result,) = prune_expired(now=timezone.now() + LATER).pruned

    assert (result.removed, result.through_sequence) == (2, 2)
    assert remaining(labs["north"]) == [e.id for e in entries[2:]]
    point = ActivityLogPrune.objects.get(chain_lab_id=labs["north"].pk)
    assert point.through_sequence == 2
    assert verify_lab(labs["north"].pk) is None
    call_command("verify_activity_logs", "--lab", str(labs["north"].pk))


def test_entries_younger_than_the_retention_stay(labs, settings, capsys):
    settings.ACTIVITY_LOG_DB_RETENTION_DAYS = 30
    entries = history(labs["north"], 3)
    ship(entries)

    report = prune_expired(now=timezone.now() + dt.timedelta(days=29))
    call_command("prune_activity_logs")

    assert report.pruned == []
    assert remaining(labs["north"]) == [e.id for e in entries]
    assert "older than 30 days" in capsys.readouterr().out


def test_a_second_prune_continues_from_the_first_cut(labs, settings):
    settings.ACTIVITY_LOG_DB_RETENTION_DAYS = 30
    entries = history(labs["north"], 4)
    ship(entries[:2])
    prune_expired(now=timezone.now() + LATER)
    ship(entries[2:])

    (result,) = prune_expired(now=timezone.now() + LATER).pruned

    assert (result.removed, result.through_sequence) == (2, 4)
    assert remaining(labs["north"]) == []
    assert verify_lab(labs["north"].pk) is None


def test_an_entry_deleted_after_the_cut_is_still_found(labs, settings):
    settings.ACTIVITY_LOG_DB_RETENTION_DAYS = 30
    entries = history(labs["north"], 4)
    ship(entries[:2])
    prune_expired(now=timezone.now() + LATER)

    raw_sql("DELETE FROM core_activitylog WHERE id = %s", [entries[3].id])

    broken = verify_lab(labs["north"].pk)
    assert broken is not None
    assert (broken.sequence, broken.problem) == (4, "deleted: the sealed entry is gone")


def test_a_chain_that_does_not_verify_is_not_pruned(labs, settings):
    settings.ACTIVITY_LOG_DB_RETENTION_DAYS = 30
    entries = history(labs["north"], 3)
    ship(entries)
    raw_sql(
        "UPDATE core_activitylog SET reason = %s WHERE id = %s",
        ["rewritten", entries[1].id],
    )

    report = prune_expired(now=timezone.now() + LATER)
    with pytest.raises(CommandError, match="1 of 2 chains are broken"):
        call_command("verify_activity_logs")

    assert report.pruned == []
    assert "breaks at #2 (edited" in report.refused[0]
    assert "kept as evidence" in report.refused[0]

    assert remaining(labs["north"]) == [e.id for e in entries]
    assert not ActivityLogPrune.objects.exists()


@requires_postgresql
def test_postgresql_refuses_any_other_delete(labs, settings):
    settings.ACTIVITY_LOG_DB_RETENTION_DAYS = 30
    entries = history(labs["north"], 3)
    ship(entries[:2])

    def refused():  # a fresh expectation for each attempt
        return pytest.raises(DatabaseError, match="append-only")

    with refused(), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(  # shipped, but no prune flag on the transaction
            "DELETE FROM core_activitylog WHERE id = %s", [entries[0].id]
        )
    with refused(), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('lis.audit_prune', 'on', true)")
        cursor.execute(  # the prune flag, but not shipped
            "DELETE FROM core_activitylog WHERE id = %s", [entries[2].id]
        )
    assert remaining(labs["north"]) == [e.id for e in entries]
    prune_expired(now=timezone.now() + LATER)
    with refused(), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_activitylogprune")

    assert remaining(labs["north"]) == [entries[2].id]
    assert ActivityLogPrune.objects.count() == 1
