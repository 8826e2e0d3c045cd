"""The database engine with real `manage.py fusion_worker` processes: a job
whose worker is SIGKILLed mid-run runs again, a job that ignores its time
limit gets its worker replaced and is recovered, two workers claiming in
batches run each job exactly once, and a worker stopped mid-batch finishes
its job and gives the rest of its batch back."""

from collections.abc import Callable

import pytest
from django.db import transaction
from django.tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult, get_date_max

from core.models.fusion import FusionDeadLetter
from tests.core.fusion import jobs
from tests.core.fusion.processes import WorkerProcess, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def start_worker(start_database_worker) -> Callable[[], WorkerProcess]:
    """Start `manage.py fusion_worker` processes; all are killed afterwards."""
    return start_database_worker


def status_of(result) -> str:
    result.refresh()
    return result.status


def test_a_job_whose_worker_is_killed_mid_run_runs_again(start_worker, job_file):
    first = start_worker()
    result = jobs.block_first_time.enqueue(job_file)
    wait_for(
        lambda: "started" in jobs.lines(job_file), "the job to start", workers=(first,)
    )

    first.kill()  # SIGKILL: no chance to record anything
    assert status_of(result) == TaskResultStatus.RUNNING
    second = start_worker()

    wait_for(
        lambda: status_of(result) == TaskResultStatus.SUCCESSFUL,
        "the job to be recovered and run again",
        workers=(second,),
    )
    assert jobs.lines(job_file) == ["started", f"done {second.pid}"]
    assert result.attempts == 2
    assert str(first.pid) in result.worker_ids[0]
    assert str(second.pid) in result.worker_ids[1]


def test_a_job_ignoring_its_time_limit_gets_its_worker_replaced(start_worker, job_file):
    worker = start_worker()
    result = jobs.swallow_time_limit.enqueue(job_file)

    wait_for(
        lambda: status_of(result) == TaskResultStatus.FAILED,
        "the runaway job to be stopped and buried",
        workers=(worker,),
    )

    assert jobs.lines(job_file)[:2] == [f"start {worker.pid}", "swallowed"]
    letter = FusionDeadLetter.objects.get()
    assert letter.error_class == "core.utils.fusion.exceptions.WorkerLost"
    assert "replacing worker process" in worker.output()
    # The same process (same pid, fresh image) goes on running jobs.
    after = jobs.record.enqueue(job_file, "after")
    wait_for(
        lambda: status_of(after) == TaskResultStatus.SUCCESSFUL,
        "the replaced worker to run the next job",
        workers=(worker,),
    )
    assert worker.process.poll() is None
    assert jobs.lines(job_file)[-1] == f"after {worker.pid}"


def test_two_workers_claiming_in_batches_run_each_job_exactly_once(
    start_worker, job_file
):
    workers = (start_worker(), start_worker())
    results = [jobs.record.enqueue(job_file, f"job-{n}") for n in range(60)]

    def all_done() -> bool:
        return all(status_of(r) == TaskResultStatus.SUCCESSFUL for r in results)

    wait_for(all_done, "both workers to run every job", workers=workers)
    tokens = [line.split()[0] for line in jobs.lines(job_file)]
    assert sorted(tokens) == sorted(f"job-{n}" for n in range(60))
    assert all(result.attempts == 1 for result in results)


def test_a_worker_stopped_mid_batch_finishes_its_job_and_gives_the_rest_back(
    start_worker, job_file
):
    with transaction.atomic():  # one batch: the slow job first, three leased
        slow = jobs.slow_record.enqueue(job_file, "slow", 1.0)
        rest = [jobs.record.enqueue(job_file, f"job-{n}") for n in range(3)]
    worker = start_worker()
    wait_for(lambda: "slow started" in jobs.lines(job_file), "the slow job",
             workers=(worker,))  # fmt: skip

    worker.stop()  # SIGTERM: finish the current job, then exit

    assert worker.process.returncode == 0
    assert status_of(slow) == TaskResultStatus.SUCCESSFUL
    assert jobs.lines(job_file) == ["slow started", "slow done"]
    for result in rest:
        row = DBTaskResult.objects.get(pk=result.id)
        assert row.status == TaskResultStatus.READY
        assert row.worker_ids == []  # never started: no attempt charged
        assert row.run_after == get_date_max()  # the lease is gone
