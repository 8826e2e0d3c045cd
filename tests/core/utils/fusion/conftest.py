"""Fixtures for the Fusion tests: engine settings, a job output file, an
in-process database worker, and RabbitMQ queues private to this test run."""

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.tasks import task_backends
from kombu import Connection

from config.settings.services import fusion_tasks_setting
from core.utils.clients import registry
from core.utils.fusion.db_worker import FusionDatabaseWorker
from tests.core.utils.fusion.processes import BROKER_URL, TEST_OPTIONS, wait_for

QUEUES = ["default", "held", "spare"]


@pytest.fixture
def database_engine(settings: Any) -> Any:
    """settings.TASKS on the database engine, with the tests' fast options."""
    settings.TASKS = fusion_tasks_setting("database", queues=QUEUES, **TEST_OPTIONS)
    registry.reset()
    return task_backends["default"]


@pytest.fixture
def job_file(tmp_path: Any) -> str:
    """Where the test's jobs write what they did (see jobs.py)."""
    return str(tmp_path / "jobs.log")


def _never_replace_the_test_process() -> None:
    """The in-process worker's hard limit: replacing pytest is not an option."""


@pytest.fixture
def run_worker(database_engine: Any) -> Callable[..., None]:
    """`run_worker(until, max_tasks=None)`: run the database worker in this
    process (this thread, so time limits apply) until `until()` is true."""

    def run(until: Callable[[], Any], *, max_tasks: int | None = None) -> None:
        worker = FusionDatabaseWorker(
            backend=database_engine,
            on_hard_limit=_never_replace_the_test_process,
            queue_names=["*"],
            interval=0,
            batch=True,
            startup_delay=False,
            max_tasks=max_tasks,
            worker_id="in-process-worker",
            excluded_queue_names=[],
        )
        if max_tasks is not None:
            worker.run()
            return
        wait_for(lambda: worker.run() or until(), "the in-process worker")

    return run


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
