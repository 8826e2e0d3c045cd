"""The broker engine's fixtures: RabbitMQ queues private to this test run,
and settings.TASKS on them (registered for every test by tests/conftest.py;
the database engine's are in tests/fusion_fixtures.py)."""

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.tasks import task_backends
from kombu import Connection

from config.settings.services import fusion_tasks_setting
from core.fusion.broker_worker import WORKER_OPTIONS
from core.utils.clients import registry
from tests.core.fusion.processes import (
    BROKER_URL,
    TEST_OPTIONS,
    WorkerProcess,
    wait_for,
    worker_env,
)
from tests.fusion_fixtures import QUEUES


@pytest.fixture(scope="session")
def broker_queue_prefix() -> Iterator[str]:
    """A queue prefix unique to this test run; its queues are deleted after."""
    prefix = f"fusion-test-{uuid.uuid4().hex[:10]}."
    try:
        with Connection(BROKER_URL, connect_timeout=5) as connection:
            connection.ensure_connection(max_retries=1)
    except OSError as exc:
        pytest.fail(
            f"The broker engine's tests need RabbitMQ at 127.0.0.1:5672 "
            f"(guest/guest); it is not reachable ({type(exc).__name__}). Start it."
        )
    yield prefix
    with Connection(BROKER_URL, connect_timeout=5) as connection:
        channel = connection.default_channel
        for name in QUEUES:
            channel.queue_delete(prefix + name)
            channel.exchange_delete(prefix + name)


@pytest.fixture
def celery_engine(settings: Any, broker_queue_prefix: str) -> Any:
    """settings.TASKS on the broker engine (the machine's RabbitMQ)."""
    settings.TASKS = fusion_tasks_setting(
        "celery",
        queues=QUEUES,
        broker_url=BROKER_URL,
        queue_prefix=broker_queue_prefix,
        **TEST_OPTIONS,
    )
    registry.reset()
    return task_backends["default"]


def celery_worker_argv(
    prefix: str, queue: str, name: str, pool: str = "solo"
) -> list[str]:
    """`celery -A core.fusion.celery_app worker` for one private queue."""
    return [
        "-m", "celery", "-A", "core.fusion.celery_app", "worker",
        f"--queues={prefix}{queue}", f"--pool={pool}", "--concurrency=1",
        *WORKER_OPTIONS, "--loglevel=INFO",
        # Unique per test run: the node name names an exclusive control queue.
        f"--hostname={prefix}{name}@%h",
    ]  # fmt: skip


def start_celery_worker(
    argv: list[str], prefix: str, log: Path, *, heartbeats: bool = False
) -> WorkerProcess:
    """Start a worker and wait until Celery says it is ready (with
    `heartbeats`, the fast HEARTBEAT_OPTIONS)."""
    worker = spawn_celery_worker(argv, prefix, log, heartbeats=heartbeats)
    wait_for(lambda: " ready." in worker.output(), "Celery to start", workers=(worker,))
    return worker


def spawn_celery_worker(
    argv: list[str], prefix: str, log: Path, *, heartbeats: bool = False
) -> WorkerProcess:
    """Start a worker without waiting for it (see `start_celery_worker`)."""
    return WorkerProcess(argv, worker_env("celery", prefix, heartbeats=heartbeats), log)
