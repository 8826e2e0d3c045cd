"""Heartbeats on the database engine, with real `manage.py fusion_worker`
processes SIGKILLed and SIGSTOPped mid-job: a dead worker's job runs again
within seconds whatever its time limit (ten minutes here), a frozen worker's
late finish is refused and recorded, and a slow but live worker keeps its
job. Heartbeats here: every 0.25 s, stale after 2 s (HEARTBEAT_OPTIONS)."""

from collections.abc import Callable

import pytest
from django.db import connection
from django.tasks import TaskResultStatus

from core.models import Counter
from core.models.fusion import FusionDeadLetter, FusionWorker
from tests.core.fusion import jobs
from tests.core.fusion.processes import WorkerProcess, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

#: Recovery takes about 2.5 s here; the backstop (the time limit) 600 s.
RECOVERED_WITHIN_SECONDS = 10.0


@pytest.fixture
def start_worker(start_database_worker) -> Callable[[], WorkerProcess]:
    """Start `manage.py fusion_worker` processes with fast heartbeats."""
    return lambda: start_database_worker(heartbeats=True)


def status_of(result) -> str:
    result.refresh()
    return result.status


def started_by(job_file: str, workers: tuple[WorkerProcess, ...]) -> WorkerProcess:
    """The worker whose pid the job's first attempt wrote (`started <pid>`)."""
    line = wait_for(
        lambda: next((x for x in jobs.lines(job_file) if x.startswith("started")), ""),
        "the first attempt to start",
        workers=workers,
    )
    return next(w for w in workers if line == f"started {w.pid}")


def two_workers(start_worker) -> tuple[WorkerProcess, WorkerProcess]:
    """Two idle workers, both registered (beating) before the test's job."""
    workers = (start_worker(), start_worker())
    wait_for(
        lambda: FusionWorker.objects.filter(lost_at=None).count() == 2,
        "both workers to register",
        workers=workers,
    )
    return workers


def test_a_killed_workers_job_runs_again_within_seconds_whatever_its_time_limit(
    start_worker, job_file
):
    workers = two_workers(start_worker)
    result = jobs.hang_first_time.enqueue(job_file)  # a 600 s time limit

    other = kill_and_see_it_run_again(result, job_file, workers)

    assert "presumed dead" in other.output()


def kill_and_see_it_run_again(result, job_file, workers):
    """SIGKILL the worker running the job's first attempt (it records
    nothing); the other must run it again within RECOVERED_WITHIN_SECONDS.
    Returns the other."""
    dead = started_by(job_file, workers)
    other = next(w for w in workers if w is not dead)

    dead.kill()

    wait_for(
        lambda: status_of(result) == TaskResultStatus.SUCCESSFUL,
        "another worker to run the job again",
        timeout=RECOVERED_WITHIN_SECONDS,
        workers=workers,
    )
    assert jobs.lines(job_file) == [f"started {dead.pid}", f"done {other.pid}"]
    assert result.attempts == 2
    assert FusionWorker.objects.get(pid=dead.pid).lost_at is not None
    return other


def test_a_job_that_kills_its_worker_each_time_still_ends_as_a_dead_letter(
    start_worker, job_file
):
    workers = two_workers(start_worker)
    result = jobs.kill_own_process.enqueue(job_file)  # max_attempts=1

    wait_for(
        lambda: status_of(result) == TaskResultStatus.FAILED,
        "the poison job to be buried",
        workers=workers,
    )

    letter = FusionDeadLetter.objects.get()
    assert letter.error_class == "core.utils.fusion.exceptions.WorkerLost"
    assert "stopped beating during attempt 1" in letter.error_message
    assert jobs.lines(job_file) == ["killing"]


def test_a_slow_but_live_worker_keeps_its_job(start_worker, job_file):
    workers = two_workers(start_worker)
    # Twice as long as a silent worker may be before it is presumed dead.
    result = jobs.sleep_then_record.enqueue(job_file, 4.0)

    wait_for(
        lambda: status_of(result) == TaskResultStatus.SUCCESSFUL,
        "the slow job to finish",
        workers=workers,
    )

    [started, done] = jobs.lines(job_file)
    assert started.split()[1] == done.split()[1]  # one run, in one worker
    assert result.attempts == 1
    assert not FusionWorker.objects.exclude(lost_at=None).exists()
    assert not any("presumed dead" in w.output() for w in workers)


def freeze_until_run_elsewhere(result, job_file, workers) -> WorkerProcess:
    """SIGSTOP the worker running the job's first attempt, wait until the
    other worker ran it to success, then SIGCONT it; returns it."""
    frozen = started_by(job_file, workers)
    frozen.freeze()
    wait_for(
        lambda: status_of(result) == TaskResultStatus.SUCCESSFUL,
        "the job to be recovered and run by the other worker",
        workers=workers,
    )
    frozen.thaw()
    wait_for(
        lambda: FusionWorker.objects.get(pid=frozen.pid).refused_finishes == 1,
        "the thawed worker's finish to be refused",
        workers=workers,
    )
    wait_for(
        lambda: "was presumed dead (no heartbeat" in frozen.output(),
        "its next beat to tell it",
        workers=workers,
    )
    return frozen


def test_a_frozen_workers_late_finish_is_refused_and_recorded(start_worker, job_file):
    workers = two_workers(start_worker)
    result = jobs.hang_first_time.enqueue(job_file)

    frozen = freeze_until_run_elsewhere(result, job_file, workers)

    other = next(w for w in workers if w is not frozen)
    assert jobs.lines(job_file) == [
        f"started {frozen.pid}",
        f"done {other.pid}",
        f"late {frozen.pid}",  # it ran on, but its outcome was not stored
    ]
    assert status_of(result) == TaskResultStatus.SUCCESSFUL
    assert result.return_value == {"pid": other.pid}
    assert result.attempts == 2
    assert "superseded" in frozen.output()
    # It registered afresh, and the jobs it runs now are its own again.
    wait_for(
        lambda: FusionWorker.objects.get(pid=frozen.pid).lost_at is None,
        "it to register afresh",
        workers=workers,
    )


@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="SQLite has one writer: a frozen worker inside an atomic job holds "
    "the write lock, so nobody can take its job until it thaws (docs/jobs.md)",
)
def test_a_frozen_workers_atomic_job_rolls_its_writes_back(start_worker, job_file):
    workers = two_workers(start_worker)
    result = jobs.count_once.enqueue(job_file, "heartbeat-test")

    frozen = freeze_until_run_elsewhere(result, job_file, workers)

    # Both attempts ran to the end; only the recovered one's hit committed.
    assert [line.split()[0] for line in jobs.lines(job_file)] == [
        "started",
        "done",
        "late",
    ]
    assert Counter.objects.get(key="heartbeat-test").hits == 1
    assert result.return_value != {"pid": frozen.pid}
