"""Runbook "RabbitMQ lost" (docs/operations.md).

The class of defect: a runbook step that does not work. A job is committed
and published to the machine's RabbitMQ, then its message is lost (the
queue purged, as a new broker or a lost disk would leave it). A real Celery
worker's maintenance rounds do not publish it again by themselves; the
documented `fusion_recover --republish` must, and the job must then run
exactly once.
"""

import io
import time

import pytest
from django.core.management import call_command
from django.tasks import TaskResultStatus
from kombu import Connection

from core.models.fusion import FusionJob
from tests.core.fusion import jobs
from tests.core.fusion.processes import (
    BROKER_URL,
    TEST_OPTIONS,
    WorkerProcess,
    wait_for,
    worker_env,
)

pytestmark = pytest.mark.django_db(transaction=True)

#: Maintenance rounds a worker gets to publish the job by itself (it must not).
ROUNDS = 5


def celery_worker(prefix: str, log) -> WorkerProcess:
    """A Celery worker (solo pool) on this run's `spare` queue."""
    argv = [
        "-m", "celery", "-A", "core.fusion.celery_app", "worker",
        f"--queues={prefix}spare", "--pool=solo", "--concurrency=1",
        "--without-gossip", "--without-mingle", "--loglevel=INFO",
        f"--hostname={prefix}runbook@%h",
    ]  # fmt: skip
    worker = WorkerProcess(argv, worker_env("celery", prefix), log)
    wait_for(lambda: " ready." in worker.output(), "Celery to start", workers=(worker,))
    return worker


def test_jobs_whose_messages_were_lost_run_once_after_republish(
    celery_engine, broker_queue_prefix, job_file, tmp_path
):
    result = jobs.record.using(queue_name="spare").enqueue(job_file, "ran")
    assert FusionJob.objects.get(pk=result.id).published_at is not None
    with Connection(BROKER_URL, connect_timeout=5) as connection:
        purged = connection.default_channel.queue_purge(f"{broker_queue_prefix}spare")
    assert purged == 1  # the message is lost
    worker = celery_worker(broker_queue_prefix, tmp_path / "worker.log")
    try:
        time.sleep(ROUNDS * TEST_OPTIONS["maintenance_interval_seconds"])
        assert jobs.lines(job_file) == []  # nothing publishes it by itself

        out = io.StringIO()
        call_command("fusion_recover", "--republish", stdout=out)
        wait_for(
            lambda: (
                FusionJob.objects.get(pk=result.id).status
                == TaskResultStatus.SUCCESSFUL
            ),
            "the republished job",
            workers=(worker,),
        )
    finally:
        worker.stop()

    assert out.getvalue().startswith("republished 1, ")
    assert jobs.lines(job_file) == [f"ran {worker.pid}"]
