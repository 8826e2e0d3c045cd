"""Heartbeats on the broker engine: real Celery workers (solo pool) on the
machine's RabbitMQ, SIGKILLed and SIGSTOPped mid-job. A dead worker's job
runs again within seconds whatever its time limit (its redelivered message
is refused while the worker's heartbeat is fresh, then the job is recovered
and published again); a frozen worker's late finish is refused and
recorded; a slow but live worker keeps its job."""

from collections.abc import Callable, Iterator

import pytest
from django.tasks import TaskResultStatus

from core.models.fusion import FusionWorker
from tests.core.fusion import jobs
from tests.core.fusion.broker_fixtures import celery_worker_argv, spawn_celery_worker
from tests.core.fusion.processes import WorkerProcess, wait_for
from tests.core.fusion.test_database_heartbeats import (
    freeze_until_run_elsewhere,
    kill_and_see_it_run_again,
    status_of,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def two_workers(
    celery_engine, broker_queue_prefix, tmp_path
) -> Iterator[tuple[WorkerProcess, WorkerProcess]]:
    """Two Celery workers on the `spare` queue with fast heartbeats, both
    registered; killed afterwards (frozen ones too)."""
    workers = tuple(
        spawn_celery_worker(
            celery_worker_argv(broker_queue_prefix, "spare", f"beating{n}"),
            broker_queue_prefix,
            tmp_path / f"beating{n}.log",
            heartbeats=True,
        )
        for n in range(2)
    )
    try:
        wait_for(
            lambda: (
                all(" ready." in w.output() for w in workers)
                and FusionWorker.objects.filter(
                    lost_at=None, pid__in=[w.pid for w in workers]
                ).count()
                == 2
            ),
            "both workers to start and register",
            workers=workers,
        )
        yield workers  # type: ignore[misc]
    finally:
        for worker in workers:
            worker.kill()


def enqueue(job: Callable, *args):
    return job.using(queue_name="spare").enqueue(*args)


def test_a_killed_workers_job_runs_again_within_seconds_whatever_its_time_limit(
    two_workers, job_file
):
    result = enqueue(jobs.hang_first_time, job_file)  # a 600 s time limit

    kill_and_see_it_run_again(result, job_file, two_workers)


def test_a_slow_but_live_worker_keeps_its_job(two_workers, job_file):
    # Twice as long as a silent worker may be before it is presumed dead.
    result = enqueue(jobs.sleep_then_record, job_file, 4.0)

    wait_for(
        lambda: status_of(result) == TaskResultStatus.SUCCESSFUL,
        "the slow job to finish",
        workers=two_workers,
    )

    [started, done] = jobs.lines(job_file)
    assert started.split()[1] == done.split()[1]
    assert result.attempts == 1
    assert not FusionWorker.objects.exclude(lost_at=None).exists()


def test_a_frozen_workers_late_finish_is_refused_and_recorded(two_workers, job_file):
    result = enqueue(jobs.hang_first_time, job_file)

    frozen = freeze_until_run_elsewhere(result, job_file, two_workers)

    other = next(w for w in two_workers if w is not frozen)
    assert jobs.lines(job_file) == [
        f"started {frozen.pid}",
        f"done {other.pid}",
        f"late {frozen.pid}",
    ]
    assert status_of(result) == TaskResultStatus.SUCCESSFUL
    assert result.return_value == {"pid": other.pid}
    assert result.attempts == 2
