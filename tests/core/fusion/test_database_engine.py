"""The database engine, with Fusion's worker running in the test process:
retries with backoff, dead letters, time limits, recovery of dead workers'
jobs, transactions. (Worker processes: test_database_worker_process.py.)"""

import os
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from core.models.fusion import FusionDeadLetter
from core.utils.clients import get_client
from core.utils.fusion import JobArgumentsError
from tests.core.fusion import jobs
from tests.core.fusion.processes import TEST_OPTIONS

pytestmark = pytest.mark.django_db(transaction=True)


class Rollback(Exception):
    """Raised to roll a test's transaction back."""


def status_of(result) -> str:
    result.refresh()
    return result.status


def test_a_job_runs_and_keeps_its_return_value(run_worker, job_file):
    result = jobs.record.enqueue(job_file, "hello")

    run_worker(until=lambda: status_of(result) == TaskResultStatus.SUCCESSFUL)

    assert jobs.lines(job_file) == [f"hello {os.getpid()}"]
    assert result.return_value == {"pid": os.getpid()}
    assert result.attempts == 1


def test_a_job_enqueued_in_a_rolled_back_transaction_never_runs(run_worker, job_file):
    with pytest.raises(Rollback), transaction.atomic():
        jobs.record.enqueue(job_file, "rolled-back")
        raise Rollback
    marker = jobs.record.enqueue(job_file, "committed")

    run_worker(until=lambda: status_of(marker) == TaskResultStatus.SUCCESSFUL)

    assert jobs.lines(job_file) == [f"committed {os.getpid()}"]
    assert DBTaskResult.objects.count() == 1


def test_a_failed_attempt_is_retried_after_a_capped_exponential_backoff(
    run_worker, job_file
):
    policy = jobs.fail_then_succeed.policy
    result = jobs.fail_then_succeed.enqueue(job_file, 2)

    before = timezone.now()
    run_worker(until=None, max_tasks=1)
    after = timezone.now()

    row = DBTaskResult.objects.get(pk=result.id)
    assert row.status == TaskResultStatus.READY
    assert row.exception_class_path == "builtins.TimeoutError"
    # Attempt 1 waits between half and all of base * 2**0 (equal jitter).
    base = policy.backoff_base_seconds
    assert before + timedelta(seconds=base / 2) <= row.run_after
    assert row.run_after <= after + timedelta(seconds=base)

    run_worker(until=lambda: status_of(result) == TaskResultStatus.SUCCESSFUL)

    assert jobs.lines(job_file) == ["attempt"] * 3
    assert result.attempts == 3
    assert result.return_value == "done"
    assert not FusionDeadLetter.objects.exists()


def test_a_job_that_keeps_failing_ends_as_a_dead_letter(run_worker, job_file):
    result = jobs.always_fail.enqueue(job_file)

    run_worker(until=lambda: status_of(result) == TaskResultStatus.FAILED)

    assert jobs.lines(job_file) == ["attempt"] * 3  # max_attempts
    letter = FusionDeadLetter.objects.get()
    assert letter.job_id == result.id
    assert letter.task_path == "tests.core.fusion.jobs.always_fail"
    assert letter.args_kwargs == {"args": [job_file], "kwargs": {}}
    assert letter.attempts == 3
    assert letter.error_class == "builtins.ConnectionError"
    assert "hooks.slack.com" in letter.error_message
    assert "s3cret" not in letter.error_message  # credentials in URLs removed
    assert result.errors[0].exception_class_path == "builtins.ConnectionError"


def test_an_attempt_past_its_time_limit_is_interrupted_and_retried(
    run_worker, job_file
):
    result = jobs.sleep_past_limit.enqueue(job_file)

    run_worker(until=lambda: status_of(result) == TaskResultStatus.FAILED)

    assert jobs.lines(job_file) == ["start", "start"]  # both attempts cut short
    letter = FusionDeadLetter.objects.get()
    assert letter.error_class == "core.utils.fusion.exceptions.JobTimeLimitExceeded"
    assert "time limit of 0.5 s" in letter.error_message


def test_a_job_taking_context_sees_its_attempt_number(run_worker, job_file):
    result = jobs.fail_once_with_context.enqueue(job_file)

    run_worker(until=lambda: status_of(result) == TaskResultStatus.SUCCESSFUL)

    assert jobs.lines(job_file) == ["attempt 1", "attempt 2"]
    assert result.return_value == 2


def _claim_as_dead_worker(result, *, times: int = 1) -> DBTaskResult:
    """Make the row look like `times` workers claimed it and died, the last
    one longer ago than the job's time limit plus the recovery grace."""
    row = DBTaskResult.objects.get(pk=result.id)
    for n in range(times):
        row.claim(f"dead-worker-{n}")
    limit = jobs.record.policy.time_limit_seconds
    row.started_at = timezone.now() - timedelta(
        seconds=limit + TEST_OPTIONS["recovery_grace_seconds"] + 1
    )
    row.save(update_fields=["started_at"])
    return row


def test_a_job_whose_worker_died_is_recovered_and_run_again(run_worker, job_file):
    result = jobs.record.enqueue(job_file, "recovered")
    _claim_as_dead_worker(result)

    call_command("fusion_recover")

    row = DBTaskResult.objects.get(pk=result.id)
    assert row.status == TaskResultStatus.READY
    assert row.exception_class_path == "core.utils.fusion.exceptions.WorkerLost"
    run_worker(until=lambda: status_of(result) == TaskResultStatus.SUCCESSFUL)
    assert jobs.lines(job_file) == [f"recovered {os.getpid()}"]
    assert result.worker_ids == ["dead-worker-0", "in-process-worker"]


def test_a_job_whose_workers_died_on_every_attempt_is_buried(database_engine, job_file):
    result = jobs.record.enqueue(job_file, "poison")
    _claim_as_dead_worker(result, times=jobs.record.max_attempts)

    report = get_client("fusion").recover()

    assert report["recovered"] == 1
    assert status_of(result) == TaskResultStatus.FAILED
    letter = FusionDeadLetter.objects.get()
    assert letter.error_class == "core.utils.fusion.exceptions.WorkerLost"
    assert letter.attempts == jobs.record.max_attempts


def test_a_running_job_within_its_time_limit_is_left_alone(database_engine, job_file):
    result = jobs.record.enqueue(job_file, "busy")
    DBTaskResult.objects.get(pk=result.id).claim("live-worker")

    report = get_client("fusion").recover()

    assert report["recovered"] == 0
    assert status_of(result) == TaskResultStatus.RUNNING


def test_a_job_whose_code_is_gone_becomes_a_dead_letter(run_worker, database_engine):
    row = DBTaskResult.objects.create(
        args_kwargs={"args": [], "kwargs": {}},
        task_path="tests.core.fusion.jobs.renamed_long_ago",
        backend_name="default",
    )

    run_worker(until=lambda: FusionDeadLetter.objects.exists())

    row.refresh_from_db()
    assert row.status == TaskResultStatus.FAILED
    assert FusionDeadLetter.objects.get().error_class.endswith("ImportError")


def test_arguments_that_are_not_json_are_refused_at_enqueue(database_engine):
    with pytest.raises(JobArgumentsError, match=r"jobs\.record .*primary keys"):
        jobs.record.enqueue(object(), "x")

    assert not DBTaskResult.objects.exists()


def test_stats_and_check_report_the_backlog(database_engine, job_file):
    jobs.record.enqueue(job_file, "one")
    jobs.record.enqueue(job_file, "two")
    jobs.record.using(run_after=timezone.now() + timedelta(hours=1)).enqueue(
        job_file, "later"
    )

    stats = get_client("fusion").stats()
    status = get_client("fusion").check()

    assert (stats.ready, stats.scheduled, stats.running) == (2, 1, 0)
    assert stats.oldest_ready_age_seconds is not None
    assert status.ok
    assert status.detail.startswith("database: 2 ready (oldest ")
    assert "1 scheduled, 0 dead letters" in status.detail
