"""The broker engine's claim and success writes (core/fusion/broker_backend.py
and, on PostgreSQL, their one-statement forms in broker_claims_pg.py): a
first delivery starts the attempt with the deadline its row's time limit
gives; a job is never started twice; a success is stored only for the
attempt that ran; both forms write the same columns; and on PostgreSQL
each write is one statement. No worker runs: the jobs go to the `held`
queue, which nobody consumes, and the tests claim them as a worker would."""

from datetime import timedelta

import pytest
from django.db import connection
from django.tasks import TaskResultStatus

from core.fusion.execution import Outcome
from core.models.fusion import FusionJob
from tests.core.fusion import jobs

pytestmark = pytest.mark.django_db(transaction=True)

ON_POSTGRESQL = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's one-statement forms"
)
#: The columns a claim or a success writes, compared across the two forms.
WRITTEN = (
    "status", "attempts", "worker_id", "return_value", "error_class",
    "error_message",
)  # fmt: skip


def held_job(job_file: str) -> str:
    """A `jobs.record` job (time limit 10 s) nobody will deliver; its id."""
    return str(jobs.record.using(queue_name="held").enqueue(job_file, "x").id)


def forget_time_limit(job_id: str) -> None:
    """Make the row look enqueued before rows carried their time limit."""
    FusionJob.objects.filter(pk=job_id).update(time_limit_seconds=None)


def test_a_job_row_carries_its_time_limit_from_enqueue(celery_engine, job_file):
    job_id = held_job(job_file)

    assert FusionJob.objects.get(pk=job_id).time_limit_seconds == 10


@pytest.mark.parametrize("carries_its_limit", [True, False])
def test_a_first_delivery_starts_the_attempt_with_its_deadline(
    celery_engine, job_file, carries_its_limit
):
    job_id = held_job(job_file)
    if not carries_its_limit:
        forget_time_limit(job_id)

    row = celery_engine.claim(job_id, worker_id="w1", redelivered=False)

    stored = FusionJob.objects.get(pk=job_id)
    assert (row.status, row.attempts, row.worker_id) == ("RUNNING", 1, "w1")
    assert (stored.status, stored.attempts, stored.worker_id) == ("RUNNING", 1, "w1")
    assert stored.started_at == row.started_at
    assert stored.deadline_at == row.deadline_at
    # From the row's limit, or else the job's code: the same 10 s.
    assert stored.deadline_at - stored.started_at == timedelta(seconds=10)
    assert stored.published_at is not None


def test_a_job_is_started_once_however_often_it_is_delivered(celery_engine, job_file):
    job_id = held_job(job_file)

    first = celery_engine.claim(job_id, worker_id="w1", redelivered=False)
    again = celery_engine.claim(job_id, worker_id="w2", redelivered=False)

    assert first is not None and again is None
    assert FusionJob.objects.get(pk=job_id).worker_id == "w1"


@pytest.mark.parametrize("job_id", ["not-a-uuid", "", "00000000-0000-0000-0000-0"])
def test_a_message_naming_no_job_is_dropped_without_a_database_error(
    celery_engine, job_id
):
    assert celery_engine.claim(job_id, worker_id="w1", redelivered=False) is None


def test_a_finished_job_is_not_started_again(celery_engine, job_file):
    job_id = held_job(job_file)
    row = celery_engine.claim(job_id, worker_id="w1", redelivered=False)
    celery_engine.record_outcome(row, Outcome(succeeded=True, return_value=None))

    assert celery_engine.claim(job_id, worker_id="w2", redelivered=False) is None
    assert FusionJob.objects.get(pk=job_id).status == TaskResultStatus.SUCCESSFUL


def test_a_success_is_stored_with_its_return_value_and_clears_the_last_error(
    celery_engine, job_file
):
    job_id = held_job(job_file)
    FusionJob.objects.filter(pk=job_id).update(
        error_class="RuntimeError", error_message="the first attempt failed"
    )
    row = celery_engine.claim(job_id, worker_id="w1", redelivered=False)

    stored = celery_engine.record_outcome(
        row, Outcome(succeeded=True, return_value={"lines": 2, "name": "Ærø"})
    )

    done = FusionJob.objects.get(pk=job_id)
    assert stored is True
    assert done.status == TaskResultStatus.SUCCESSFUL
    assert done.return_value == {"lines": 2, "name": "Ærø"}
    assert (done.error_class, done.error_message) == ("", "")
    assert done.finished_at == row.finished_at


def test_a_superseded_attempts_success_is_refused(celery_engine, job_file):
    job_id = held_job(job_file)
    stale = celery_engine.claim(job_id, worker_id="w1", redelivered=False)
    # Recovered meanwhile and started again by another worker.
    FusionJob.objects.filter(pk=job_id).update(attempts=2, worker_id="w2")

    stored = celery_engine.record_outcome(
        stale, Outcome(succeeded=True, return_value="late")
    )

    row = FusionJob.objects.get(pk=job_id)
    assert stored is False
    assert (row.status, row.worker_id, row.return_value) == ("RUNNING", "w2", None)


def test_both_forms_write_the_same_columns(celery_engine, job_file):
    # A row without its limit takes the portable form on every database.
    fast_id, portable_id = held_job(job_file), held_job(job_file)
    forget_time_limit(portable_id)
    done = Outcome(succeeded=True, return_value=[1, "two"])

    for job_id in (fast_id, portable_id):
        row = celery_engine.claim(job_id, worker_id="w1", redelivered=False)
        celery_engine.record_outcome(row, done)

    fast, portable = (FusionJob.objects.get(pk=pk) for pk in (fast_id, portable_id))
    assert {f: getattr(fast, f) for f in WRITTEN} == {
        f: getattr(portable, f) for f in WRITTEN
    }
    for row in (fast, portable):
        assert row.finished_at is not None and row.published_at is not None
        assert row.deadline_at - row.started_at == timedelta(seconds=10)


@ON_POSTGRESQL
def test_on_postgresql_a_claim_and_a_success_are_one_statement_each(
    celery_engine, job_file, django_assert_num_queries
):
    job_id = held_job(job_file)

    with django_assert_num_queries(1):
        row = celery_engine.claim(job_id, worker_id="w1", redelivered=False)
    with django_assert_num_queries(1):
        celery_engine.record_outcome(row, Outcome(succeeded=True, return_value=None))

    assert FusionJob.objects.get(pk=job_id).status == TaskResultStatus.SUCCESSFUL
