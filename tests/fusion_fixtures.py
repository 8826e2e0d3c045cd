"""Fusion fixtures shared by every test that runs jobs: the database engine
with the tests' fast options, a job output file and an in-process worker.
Imported by the conftest files that need them."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.tasks import task_backends

from config.settings.services import fusion_tasks_setting
from core.fusion.db_worker import FusionDatabaseWorker
from core.utils.clients import registry
from tests.core.fusion.processes import (
    TEST_OPTIONS,
    WorkerProcess,
    wait_for,
    worker_env,
)

#: Queues the tests' jobs may use.
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


@pytest.fixture
def start_database_worker(
    database_engine: Any, tmp_path: Any
) -> Iterator[Callable[..., WorkerProcess]]:
    """`start(heartbeats=False)`: start a `manage.py fusion_worker` process
    on every queue (with `heartbeats`, fast ones); all are killed afterwards,
    frozen ones too."""
    started: list[WorkerProcess] = []

    def start(*, heartbeats: bool = False) -> WorkerProcess:
        worker = WorkerProcess(
            ["manage.py", "fusion_worker", "--queue-name", "*", "--no-startup-delay"],
            worker_env("database", heartbeats=heartbeats),
            tmp_path / f"worker-{len(started)}.log",
        )
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.kill()
