"""The worker registry and heartbeat recovery, in this process: who is
presumed dead and when, what happens to its jobs, what a worker learns
when it beats again, a redelivery that must not take a live worker's job,
and an atomic job whose refused success rolls its writes back. (The same
with real processes, SIGKILL and SIGSTOP: test_*_heartbeats.py.)"""

from datetime import timedelta

import pytest
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from core.fusion.execution import Outcome, run_attempt
from core.fusion.heartbeat import recover_lost_workers
from core.fusion.workers import Beat, beat, record_refused_finish, register
from core.models import Counter
from core.models.fusion import FusionDeadLetter, FusionJob, FusionWorker
from core.utils.clients import get_client
from core.utils.fusion.exceptions import FusionConfigurationError
from core.utils.fusion.options import EngineOptions
from tests.core.fusion import jobs

pytestmark = pytest.mark.django_db(transaction=True)


def silent_for(worker_id: str, seconds: float) -> None:
    """Make `worker_id`'s last beat `seconds` old."""
    FusionWorker.objects.filter(pk=worker_id).update(
        last_beat_at=timezone.now() - timedelta(seconds=seconds)
    )


def running_as(result, worker_id: str) -> None:
    """Mark a database-engine job as started by `worker_id` (its attempt 1)."""
    DBTaskResult.objects.filter(pk=result.id).update(
        status=TaskResultStatus.RUNNING,
        started_at=timezone.now(),
        worker_ids=[worker_id],
    )


def test_a_silent_workers_running_job_goes_back_to_the_queue_at_once(
    database_engine, job_file
):
    stale = database_engine.fusion_options.heartbeat_stale_seconds
    result = jobs.hang_first_time.enqueue(job_file)
    register("dead-worker", "default")
    running_as(result, "dead-worker")
    silent_for("dead-worker", stale + 1)

    assert recover_lost_workers(database_engine) == 1

    row = DBTaskResult.objects.get(pk=result.id)
    assert row.status == TaskResultStatus.READY
    assert row.run_after <= timezone.now()  # no backoff: the worker died
    assert "stopped beating during attempt 1" in row.traceback
    assert FusionWorker.objects.get(pk="dead-worker").lost_at is not None
    assert recover_lost_workers(database_engine) == 0  # once


def test_a_worker_that_beat_recently_keeps_its_job(database_engine, job_file):
    stale = database_engine.fusion_options.heartbeat_stale_seconds
    result = jobs.hang_first_time.enqueue(job_file)
    register("slow-worker", "default")
    running_as(result, "slow-worker")
    silent_for("slow-worker", stale - 1)

    assert recover_lost_workers(database_engine) == 0

    assert DBTaskResult.objects.get(pk=result.id).status == TaskResultStatus.RUNNING


def test_a_job_out_of_attempts_is_buried_when_its_worker_is_lost(
    database_engine, job_file
):
    result = jobs.kill_own_process.enqueue(job_file)  # max_attempts=1
    register("dead-worker", "default")
    running_as(result, "dead-worker")
    silent_for("dead-worker", 60)

    recover_lost_workers(database_engine)

    assert DBTaskResult.objects.get(pk=result.id).status == TaskResultStatus.FAILED
    assert FusionDeadLetter.objects.get().error_class.endswith("WorkerLost")


def test_a_worker_presumed_dead_learns_it_at_its_next_beat(database_engine):
    register("frozen-worker", "default")
    silent_for("frozen-worker", 60)
    recover_lost_workers(database_engine)

    assert beat("frozen-worker", "default") is Beat.WAS_LOST
    # Registered afresh: alive from now on.
    assert FusionWorker.objects.get(pk="frozen-worker").lost_at is None
    assert beat("frozen-worker", "default") is Beat.ALIVE


def test_a_refused_finish_is_logged_and_counted(database_engine, caplog):
    register("frozen-worker", "default")

    record_refused_finish("frozen-worker", "job-1")
    record_refused_finish("frozen-worker", "job-2")

    assert FusionWorker.objects.get(pk="frozen-worker").refused_finishes == 2
    assert "job-2: worker frozen-worker finished an attempt that had been " in (
        caplog.text
    )


@pytest.mark.parametrize("stored", [True, False])
def test_an_atomic_jobs_writes_commit_only_with_its_success(
    database_engine, job_file, stored
):
    jobs.append(job_file, "started elsewhere")  # so the job does not hang
    result = jobs.count_once.enqueue(job_file, "atomic")

    outcome = run_attempt(
        jobs.count_once, result, record_success=lambda outcome: stored
    )

    assert outcome.succeeded
    assert (outcome.recorded, outcome.refused) == (stored, not stored)
    assert Counter.objects.filter(key="atomic", hits=1).exists() is stored


def test_heartbeats_must_tolerate_one_late_beat():
    with pytest.raises(FusionConfigurationError, match="at least twice"):
        EngineOptions(heartbeat_seconds=2.0, heartbeat_stale_seconds=3.0)


def test_a_redelivered_message_never_takes_a_live_workers_job(celery_engine):
    stale = celery_engine.fusion_options.heartbeat_stale_seconds
    result = jobs.hang_first_time.using(queue_name="held").enqueue("unused")
    register("live-worker", "default")
    assert celery_engine.claim(result.id, worker_id="live-worker", redelivered=False)

    # The broker redelivers its message (say its connection dropped).
    assert not celery_engine.claim(result.id, worker_id="w2", redelivered=True)

    silent_for("live-worker", stale + 1)  # now it is dead
    taken = celery_engine.claim(result.id, worker_id="w2", redelivered=True)
    assert taken is not None and taken.attempts == 2
    assert FusionJob.objects.get(pk=result.id).worker_id == "w2"


def test_fusion_recover_by_hand_recovers_silent_workers_jobs(database_engine, job_file):
    result = jobs.hang_first_time.enqueue(job_file)
    register("dead-worker", "default")
    running_as(result, "dead-worker")
    silent_for("dead-worker", 60)

    assert get_client("fusion").recover()["recovered"] == 1

    assert DBTaskResult.objects.get(pk=result.id).status == TaskResultStatus.READY


def test_an_outcome_is_stored_only_under_its_attempts_token(database_engine, job_file):
    result = jobs.record.enqueue(job_file, "token")
    running_as(result, "first-worker")
    row = DBTaskResult.objects.get(pk=result.id)
    # Another attempt, started by another worker at the very same instant.
    superseded = DBTaskResult.objects.get(pk=result.id)
    superseded.worker_ids = ["other-worker"]

    assert not database_engine.record_outcome(superseded, Outcome(succeeded=True))
    assert DBTaskResult.objects.get(pk=result.id).status == TaskResultStatus.RUNNING
    assert database_engine.record_outcome(row, Outcome(succeeded=True))
