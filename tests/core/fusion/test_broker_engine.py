"""The broker engine: Celery workers in their own processes, on the machine's
RabbitMQ, with queues private to this test run. The same jobs as the
database engine; the same guarantees."""

import socket
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from django.db import transaction
from django.tasks import TaskResultStatus
from django.utils import timezone
from kombu import Connection

from config.settings.services import fusion_tasks_setting
from core.models.fusion import FusionDeadLetter, FusionJob
from core.utils.clients import get_client, registry
from tests.core.fusion import jobs
from tests.core.fusion.broker_fixtures import celery_worker_argv, start_celery_worker
from tests.core.fusion.processes import (
    BROKER_URL,
    TEST_OPTIONS,
    WorkerProcess,
    wait_for,
    worker_env,
)
from tests.fusion_fixtures import QUEUES

pytestmark = pytest.mark.django_db(transaction=True)


class Rollback(Exception):
    """Raised to roll a test's transaction back."""


@pytest.fixture(scope="module")
def celery_worker(django_db_setup, broker_queue_prefix, tmp_path_factory):
    """One Celery worker (solo pool) on the `default` queue for this module."""
    log = tmp_path_factory.mktemp("celery") / "worker.log"
    argv = celery_worker_argv(broker_queue_prefix, "default", "main")
    worker = start_celery_worker(argv, broker_queue_prefix, log)
    yield worker
    worker.stop()


@pytest.fixture
def start_spare_worker(
    broker_queue_prefix, tmp_path
) -> Iterator[Callable[..., WorkerProcess]]:
    """Start workers on the `spare` queue (this test's own); killed afterwards."""
    started: list[WorkerProcess] = []

    def start(pool: str = "solo") -> WorkerProcess:
        name = f"spare{len(started)}"
        argv = celery_worker_argv(broker_queue_prefix, "spare", name, pool)
        log = tmp_path / f"{name}.log"
        started.append(start_celery_worker(argv, broker_queue_prefix, log))
        return started[-1]

    yield start
    for worker in started:
        worker.kill()


def status_of(result) -> str:
    result.refresh()
    return result.status


def until_finished(result, status, worker: WorkerProcess, what: str) -> None:
    wait_for(lambda: status_of(result) == status, what, workers=(worker,))


def test_a_job_runs_in_a_separate_celery_worker_process(
    celery_engine, celery_worker, job_file
):
    result = jobs.record.enqueue(job_file, "via-broker")

    until_finished(result, TaskResultStatus.SUCCESSFUL, celery_worker, "the job")

    assert jobs.lines(job_file) == [f"via-broker {celery_worker.pid}"]
    assert result.return_value == {"pid": celery_worker.pid}
    assert FusionJob.objects.get(pk=result.id).published_at is not None


def test_a_job_enqueued_in_a_rolled_back_transaction_never_runs(
    celery_engine, celery_worker, job_file
):
    with pytest.raises(Rollback), transaction.atomic():
        jobs.record.enqueue(job_file, "rolled-back")
        raise Rollback
    marker = jobs.record.enqueue(job_file, "committed")

    until_finished(marker, TaskResultStatus.SUCCESSFUL, celery_worker, "the marker")

    assert jobs.lines(job_file) == [f"committed {celery_worker.pid}"]
    assert FusionJob.objects.count() == 1


def test_a_job_is_published_only_when_its_transaction_commits(
    celery_engine, broker_queue_prefix, job_file
):
    # No worker consumes `held`, so the queue shows exactly what was published.
    held_queue = broker_queue_prefix + "held"
    with Connection(BROKER_URL, connect_timeout=5) as connection:
        channel = connection.default_channel
        channel.queue_declare(held_queue, durable=True, auto_delete=False)
        channel.queue_purge(held_queue)

        def published() -> int:
            return channel.queue_declare(held_queue, passive=True).message_count

        with transaction.atomic():
            jobs.record.using(queue_name="held").enqueue(job_file, "held")
            assert published() == 0
        assert wait_for(published, "the message after commit") == 1
        channel.queue_purge(held_queue)

    stats = get_client("fusion").stats()
    assert (stats.ready, stats.running) == (1, 0)
    assert stats.oldest_ready_age_seconds is not None
    assert get_client("fusion").check().detail.startswith("celery: 1 ready (oldest")


def test_a_job_that_keeps_failing_ends_as_a_dead_letter(
    celery_engine, celery_worker, job_file
):
    result = jobs.always_fail.enqueue(job_file)

    until_finished(result, TaskResultStatus.FAILED, celery_worker, "the dead letter")

    assert jobs.lines(job_file) == ["attempt"] * 3  # retries were relayed
    letter = FusionDeadLetter.objects.get()
    assert (letter.job_id, letter.attempts) == (result.id, 3)
    assert letter.error_class == "builtins.ConnectionError"
    assert "s3cret" not in letter.error_message


def test_an_attempt_past_its_time_limit_is_interrupted_in_the_worker(
    celery_engine, celery_worker, job_file
):
    result = jobs.sleep_past_limit.enqueue(job_file)

    until_finished(result, TaskResultStatus.FAILED, celery_worker, "the time limit")

    assert jobs.lines(job_file) == ["start", "start"]
    letter = FusionDeadLetter.objects.get()
    assert letter.error_class == "core.utils.fusion.exceptions.JobTimeLimitExceeded"


def _unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def broker_down(settings, broker_queue_prefix):
    """This process's broker engine points at a port where nothing listens
    (the workers' settings still point at the real RabbitMQ)."""
    settings.TASKS = fusion_tasks_setting(
        "celery",
        queues=QUEUES,
        broker_url=f"amqp://guest:secret-pw@127.0.0.1:{_unused_port()}//",
        queue_prefix=broker_queue_prefix,
        **TEST_OPTIONS,
    )
    registry.reset()


def test_a_job_enqueued_while_the_broker_is_down_is_relayed_later(
    broker_down, celery_worker, job_file, caplog
):
    with transaction.atomic():  # the save that enqueues it succeeds
        result = jobs.record.enqueue(job_file, "relayed")

    assert "the relay will publish it later" in caplog.text
    assert "secret-pw" not in caplog.text
    status = get_client("fusion").check()
    assert (status.ok, status.detail) == (False, "OperationalError")
    # A worker's relay (which can reach the broker) publishes it.
    until_finished(result, TaskResultStatus.SUCCESSFUL, celery_worker, "the relay")
    assert jobs.lines(job_file) == [f"relayed {celery_worker.pid}"]


def test_a_running_job_that_lost_its_worker_and_message_is_recovered(
    broker_down, celery_worker, job_file
):
    result = jobs.record.enqueue(job_file, "recovered")  # never published
    backend = get_client("fusion").engine()
    row = backend.claim(result.id, worker_id="dead-worker", redelivered=False)
    grace = TEST_OPTIONS["recovery_grace_seconds"]
    row.deadline_at = timezone.now() - timedelta(seconds=grace + 1)
    row.save(update_fields=["deadline_at"])

    until_finished(result, TaskResultStatus.SUCCESSFUL, celery_worker, "recovery")

    assert jobs.lines(job_file) == [f"recovered {celery_worker.pid}"]
    assert result.attempts == 2


def test_a_job_whose_worker_is_killed_mid_run_is_redelivered(
    celery_engine, start_spare_worker, job_file
):
    first = start_spare_worker()
    result = jobs.block_first_time.using(queue_name="spare").enqueue(job_file)
    wait_for(lambda: "started" in jobs.lines(job_file), "a start", workers=(first,))

    first.kill()
    second = start_spare_worker()

    until_finished(result, TaskResultStatus.SUCCESSFUL, second, "the second run")
    assert jobs.lines(job_file) == ["started", f"done {second.pid}"]
    assert result.attempts == 2


def test_a_job_that_kills_its_worker_every_time_ends_as_a_dead_letter(
    celery_engine, start_spare_worker, job_file
):
    worker = start_spare_worker(pool="prefork")  # Celery replaces dead children
    result = jobs.kill_own_process.using(queue_name="spare").enqueue(job_file)

    until_finished(result, TaskResultStatus.FAILED, worker, "the poison job")

    # Its one attempt killed the worker; the redelivery found it out of
    # attempts and buried it instead of running it again.
    assert jobs.lines(job_file) == ["killing"]
    letter = FusionDeadLetter.objects.get()
    assert letter.error_class == "core.utils.fusion.exceptions.WorkerLost"
    assert worker.process.poll() is None  # the worker itself survived


def test_a_worker_that_cannot_reach_the_database_returns_the_job_to_the_queue(
    celery_engine, start_spare_worker, broker_queue_prefix, tmp_path, job_file
):
    env = worker_env("celery", broker_queue_prefix)
    env["DATABASE_URL"] = f"postgres://nobody@127.0.0.1:{_unused_port()}/none"
    argv = celery_worker_argv(broker_queue_prefix, "spare", "nodb")
    cut_off = WorkerProcess(argv, env, tmp_path / "nodb.log")
    try:
        wait_for(lambda: " ready." in cut_off.output(), "Celery", workers=(cut_off,))
        result = jobs.record.using(queue_name="spare").enqueue(job_file, "kept")
        wait_for(
            lambda: "returning it to the queue" in cut_off.output(),
            "the job to be rejected back to the queue",
            workers=(cut_off,),
        )
    finally:
        cut_off.kill()
    healthy = start_spare_worker()

    until_finished(result, TaskResultStatus.SUCCESSFUL, healthy, "the job")
    assert jobs.lines(job_file) == [f"kept {healthy.pid}"]
