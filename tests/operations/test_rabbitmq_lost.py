"""Runbook "RabbitMQ lost" (docs/operations.md), and what a worker does
about it by itself.

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
from amqp.exceptions import ChannelError
from django.core.management import call_command
from django.tasks import TaskResultStatus
from kombu import Connection

from core.fusion.broker_worker import WORKER_OPTIONS
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


def purge_spare(prefix: str) -> int:
    """Empty this run's `spare` queue (as a lost broker leaves it); how many
    messages it held. The prefix is the session's, so a test empties the
    queue first of what earlier tests left."""
    with Connection(BROKER_URL, connect_timeout=5) as connection:
        channel = connection.default_channel
        queue = f"{prefix}spare"
        try:
            return int(channel.queue_purge(queue) or 0)
        except ChannelError:  # not declared yet: nothing in it
            return 0


def celery_worker(prefix: str, log, **environment: str) -> WorkerProcess:
    """A Celery worker (solo pool) on this run's `spare` queue, with
    `environment` added to its own."""
    argv = [
        "-m", "celery", "-A", "core.fusion.celery_app", "worker",
        f"--queues={prefix}spare", "--pool=solo", "--concurrency=1",
        *WORKER_OPTIONS, "--loglevel=INFO",
        f"--hostname={prefix}runbook@%h",
    ]  # fmt: skip
    env = {**worker_env("celery", prefix), **environment}
    worker = WorkerProcess(argv, env, log)
    wait_for(lambda: " ready." in worker.output(), "Celery to start", workers=(worker,))
    return worker


def test_jobs_whose_messages_were_lost_run_once_after_republish(
    celery_engine, broker_queue_prefix, job_file, tmp_path
):
    purge_spare(broker_queue_prefix)
    result = jobs.record.using(queue_name="spare").enqueue(job_file, "ran")
    assert FusionJob.objects.get(pk=result.id).published_at is not None
    assert purge_spare(broker_queue_prefix) == 1  # the message is lost
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


def test_a_worker_republishes_jobs_stranded_by_a_wiped_broker_by_itself(
    celery_engine, broker_queue_prefix, job_file, tmp_path
):
    """Issue 20 point 2, the class: acknowledged jobs waiting for good. With
    `republish_after_seconds` passed, a worker's maintenance publishes a
    job whose message the broker lost again, with no operator; a duplicate
    message (the wipe left the first after all) runs nothing twice."""
    purge_spare(broker_queue_prefix)
    results = [
        jobs.record.using(queue_name="spare").enqueue(job_file, f"job {n}")
        for n in range(3)
    ]
    assert purge_spare(broker_queue_prefix) == 3  # the broker lost every message
    jobs.record.using(queue_name="spare").enqueue(job_file, "job 3")  # kept
    worker = celery_worker(
        broker_queue_prefix, tmp_path / "worker.log", FUSION_REPUBLISH_AFTER_SECONDS="1"
    )
    try:
        wait_for(
            lambda: len(jobs.lines(job_file)) == 4,
            "the stranded jobs",
            workers=(worker,),
        )
        time.sleep(ROUNDS * TEST_OPTIONS["maintenance_interval_seconds"])
    finally:
        worker.stop()

    ran = sorted(line.split(" ", 2)[1] for line in jobs.lines(job_file))
    assert ran == ["0", "1", "2", "3"]  # each once
    assert all(
        FusionJob.objects.get(pk=r.id).status == TaskResultStatus.SUCCESSFUL
        for r in results
    )
