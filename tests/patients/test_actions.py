"""The report actions (patients/actions.py): each state change is one
transaction. A failure forced in a later step of an action leaves
everything as it was: the report's status and version, and no
ReportRelease, job, activity-log entry or webhook event. The failures are
real: a database trigger the test installs refuses a row, the job queue
does not accept the job's queue, or the client is killed while its
transaction waits for a lock. Once the cause is gone, the same call on the
same instance succeeds (the action put the instance back as it was)."""

import contextlib
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, models
from django.tasks.exceptions import InvalidTask
from django_tasks_db.models import DBTaskResult

from config.settings.services import fusion_tasks_setting
from core.models import ActivityLog
from core.models.webhook import WebhookDelivery, WebhookEvent
from core.utils.activity_log.context import Actor, ActorKind
from core.utils.clients import registry
from patients.actions import correct_report, release_report, verify_report
from patients.models import Report, ReportRelease
from tests.conftest import requires_postgresql
from tests.core.fusion.processes import WorkerProcess, wait_for, worker_env
from tests.core.webhooks.fixtures import new_patient

# Real commits: an action that is not one transaction leaves its first
# steps committed when a later one fails, as it would in production.
pytestmark = pytest.mark.django_db(transaction=True)

RUN_RELEASE = "patients.release.run_release"
HB = {"test": "Haemoglobin", "value": 13.5, "unit": "g/dL", "low": 12, "high": 16}
TECHNICIAN = Actor(id="7", name="Asha Rao", role="technician", kind=ActorKind.STAFF)
TRIGGER = "test_refuse_insert"


@pytest.fixture
def verified(labs, database_engine, subscribe) -> Report:
    """A verified report of North, whose every event North subscribes to
    (so a change that commits would leave webhook events and their jobs)."""
    subscribe(labs["north"], ["*"])
    report = Report(
        lab=labs["north"], patient=new_patient(labs["north"]), title="CBC", results=[HB]
    )
    report.save()
    verify_report(report)
    return report


@pytest.fixture
def released(verified: Report) -> Report:
    release_report(verified)
    return verified


def everything(report: Report) -> dict[str, Any]:
    """What an action may change: the report's row, and every table its
    steps write to."""
    row = Report.objects.get(pk=report.pk)
    return {
        "report": (row.status, row.version, row.released_at),
        "reports": Report.objects.count(),
        "releases": ReportRelease.objects.count(),
        "jobs": sorted(DBTaskResult.objects.values_list("task_path", flat=True)),
        "log_entries": ActivityLog.objects.count(),
        "webhook_events": WebhookEvent.objects.count(),
        "webhook_deliveries": WebhookDelivery.objects.count(),
    }


def in_memory(report: Report) -> tuple[Any, ...]:
    return (report.status, report.version, report.released_at)


@contextlib.contextmanager
def refusing_inserts(model: type[models.Model], when: str) -> Iterator[None]:
    """A trigger on `model`'s table that refuses an INSERT whose new row
    meets `when` (SQL over NEW), on PostgreSQL or SQLite; dropped after."""
    table = connection.ops.quote_name(model._meta.db_table)
    if connection.vendor == "postgresql":
        create = [
            f"CREATE FUNCTION {TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'refused by the test: insert into %', "
            "TG_TABLE_NAME; END $$",
            f"CREATE TRIGGER {TRIGGER} BEFORE INSERT ON {table} FOR EACH ROW "
            f"WHEN ({when}) EXECUTE FUNCTION {TRIGGER}()",
        ]
        drop = [
            f"DROP TRIGGER IF EXISTS {TRIGGER} ON {table}",
            f"DROP FUNCTION IF EXISTS {TRIGGER}()",
        ]
    else:
        create = [
            f"CREATE TRIGGER {TRIGGER} BEFORE INSERT ON {table} FOR EACH ROW "
            f"WHEN ({when}) BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
        ]
        drop = [f"DROP TRIGGER IF EXISTS {TRIGGER}"]
    with connection.cursor() as cursor:
        for statement in create:
            cursor.execute(statement)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for statement in drop:
                cursor.execute(statement)


def assert_unchanged_then_retried(
    report: Report, before: dict[str, Any], retry: Callable[[], object]
) -> None:
    """Nothing changed; once the cause is gone, the same instance goes."""
    assert everything(report) == before
    retry()


# -- what the actions do -------------------------------------------------------


def test_release_commits_the_status_its_release_record_and_its_job(verified):
    release = release_report(verified, actor=TECHNICIAN, reason="Checked twice")

    verified.refresh_from_db()
    assert verified.status == Report.Status.RELEASED
    assert release.report_id == verified.pk
    assert DBTaskResult.objects.filter(task_path=RUN_RELEASE).count() == 1
    entry = ActivityLog.objects.filter(instance_id=str(verified.pk)).latest("id")
    assert (entry.actor_name, entry.reason) == ("Asha Rao", "Checked twice")


def test_correct_commits_the_corrected_status_and_the_new_edition(released):
    edition = correct_report(released, reason="Haemoglobin re-run", actor=TECHNICIAN)

    released.refresh_from_db()
    assert released.status == Report.Status.CORRECTED
    assert (edition.edition, edition.previous_id, edition.status) == (
        2, released.pk, Report.Status.DRAFT
    )  # fmt: skip
    reasons = ActivityLog.objects.filter(
        instance_id__in=[str(released.pk), str(edition.pk)], reason="Haemoglobin re-run"
    )
    assert set(reasons.values_list("actor_name", flat=True)) == {"Asha Rao"}
    assert reasons.count() == 2


def test_a_refused_action_writes_nothing_and_leaves_the_instance(labs, database_engine):
    draft = Report(
        lab=labs["north"], patient=new_patient(labs["north"]), title="CBC", results=[HB]
    )
    draft.save()
    before, kept = everything(draft), in_memory(draft)

    with pytest.raises(ValidationError, match="cannot become released"):
        release_report(draft)

    assert (everything(draft), in_memory(draft)) == (before, kept)


# -- a later step fails: nothing changed -----------------------------------------


def test_release_whose_release_record_is_refused_changes_nothing(verified):
    before, kept = everything(verified), in_memory(verified)

    with refusing_inserts(ReportRelease, "1 = 1"):
        with pytest.raises(DatabaseError, match="refused by the test"):
            release_report(verified)
        assert in_memory(verified) == kept

    assert_unchanged_then_retried(verified, before, lambda: release_report(verified))
    assert ReportRelease.objects.filter(report=verified).count() == 1


def test_release_whose_job_is_refused_by_the_database_changes_nothing(verified):
    before, kept = everything(verified), in_memory(verified)

    # The webhook deliveries' jobs go in; only the release's job is refused.
    with refusing_inserts(DBTaskResult, f"NEW.task_path = '{RUN_RELEASE}'"):
        with pytest.raises(DatabaseError, match="refused by the test"):
            release_report(verified)
        assert in_memory(verified) == kept

    assert_unchanged_then_retried(verified, before, lambda: release_report(verified))
    assert DBTaskResult.objects.filter(task_path=RUN_RELEASE).count() == 1


def test_release_whose_job_queue_is_not_configured_changes_nothing(
    labs, database_engine, settings
):
    report = Report(
        lab=labs["north"], patient=new_patient(labs["north"]), title="CBC", results=[HB]
    )
    report.save()
    verify_report(report)
    before, kept = everything(report), in_memory(report)
    # run_release goes to the "default" queue, which this engine lacks.
    settings.TASKS = fusion_tasks_setting("database", queues=["held"])
    registry.reset()

    with pytest.raises(InvalidTask, match="Queue 'default' is not valid"):
        release_report(report)

    assert in_memory(report) == kept
    assert everything(report) == before


def test_correction_whose_new_edition_is_refused_changes_nothing(released):
    before, kept = everything(released), in_memory(released)

    def correct() -> None:
        correct_report(released, reason="Haemoglobin re-run")

    with refusing_inserts(Report, "NEW.previous_id IS NOT NULL"):
        with pytest.raises(DatabaseError, match="refused by the test"):
            correct()
        assert in_memory(released) == kept

    assert_unchanged_then_retried(released, before, correct)
    assert Report.objects.filter(previous=released).count() == 1


# -- the client dies between two steps -------------------------------------------

RELEASE_SCRIPT = """
import django

django.setup()
from patients.actions import release_report
from patients.models import Report

release_report(Report.objects.get(pk={pk}))
"""
BLOCKED_INSERT = """
SELECT pid FROM pg_stat_activity
WHERE datname = current_database() AND wait_event_type = 'Lock'
  AND query LIKE 'INSERT INTO "patients_reportrelease"%%'
"""


def _other_connection() -> psycopg.Connection[Any]:
    settings = connection.settings_dict
    return psycopg.connect(
        dbname=settings["NAME"],
        user=settings["USER"] or None,
        password=settings["PASSWORD"] or None,
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
    )


def _backend_gone(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid])
        return cursor.fetchone() is None


def _blocked_backend() -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(BLOCKED_INSERT)
        row = cursor.fetchone()
    return row[0] if row else None


@requires_postgresql  # SQLite locks the whole file: the first write would wait
def test_a_release_killed_between_its_steps_leaves_the_report_verified(
    verified: Report, tmp_path: Path
):
    before = everything(verified)
    holder = _other_connection()
    # Another transaction holds the release table, so the client's INSERT
    # waits there, after the report's UPDATE: then the client is killed.
    holder.execute('LOCK TABLE "patients_reportrelease" IN SHARE MODE')
    script = textwrap.dedent(RELEASE_SCRIPT.format(pk=verified.pk))
    client = WorkerProcess(["-c", script], worker_env("database"), tmp_path / "out")
    backend = None
    try:
        backend = wait_for(_blocked_backend, "the release to wait", workers=(client,))
        client.kill()
        holder.rollback()  # the server finds its client gone, and rolls back
        wait_for(lambda: _backend_gone(backend), "the killed client's backend")
    finally:
        client.kill()
        holder.close()
        if backend is not None and not _backend_gone(backend):
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [backend])

    assert everything(verified) == before
