"""Fusion's worker for the database engine (`manage.py fusion_worker`).

django-tasks-db's `Worker` loop claims rows; Fusion runs each one with its
time limit and records a retry or a dead letter instead of a plain failure.
A maintenance thread recovers jobs of dead workers. If a job swallows its
time limit and keeps running, the hard limit replaces this process with a
fresh copy of itself (same pid, so whatever supervises it sees no change);
the abandoned job is then recovered like any job of a dead worker.
"""

import logging
import os
import sys
from collections.abc import Callable
from typing import Any

from django.core.exceptions import SuspiciousOperation
from django.tasks.signals import task_finished, task_started
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from core.fusion.db_backend import FusionDatabaseBackend
from core.fusion.engine import MaintenanceThread
from core.fusion.execution import Outcome, run_attempt, worker_identity
from core.utils.fusion.jobs import policy_of

logger = logging.getLogger(__name__)


def replace_process() -> None:
    """The hard time limit: exec a fresh copy of this worker (same pid)."""
    logger.critical(
        "A job ignored its time limit; replacing worker process %d with a fresh "
        "one. The job is recovered once its recovery grace period has passed.",
        os.getpid(),
    )
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os.execv(sys.executable, sys.orig_argv)  # noqa: S606 - our own command line


class FusionDatabaseWorker(Worker):
    """django-tasks-db's worker loop with Fusion's handling of each job."""

    def __init__(
        self,
        *,
        backend: FusionDatabaseBackend,
        on_hard_limit: Callable[[], None] = replace_process,
        **options: Any,
    ) -> None:
        super().__init__(backend_name=backend.alias, **options)
        self.backend = backend
        self.on_hard_limit = on_hard_limit

    def run_task(self, db_task_result: DBTaskResult) -> None:
        """Run one claimed job and record its outcome (called by the loop)."""
        try:
            self.running_task = True
            self._run(db_task_result)
        finally:
            self.running_task = False
            self._run_tasks += 1

    def _run(self, row: DBTaskResult) -> None:
        try:
            task = row.task
        except (ImportError, SuspiciousOperation) as exc:  # the code is gone
            self.backend.record_outcome(row, Outcome(succeeded=False, error=exc))
            logger.error("job %s: %s is not a job; buried", row.pk, row.task_path)
            return
        task_result = row.task_result
        sender = type(self.backend)
        task_started.send(sender=sender, task_result=task_result)
        outcome = run_attempt(
            task,
            task_result,
            hard_grace_seconds=self.backend.fusion_options.hard_limit_grace_seconds,
            on_hard_limit=self.on_hard_limit,
        )
        if not self.backend.record_outcome(row, outcome):
            logger.warning(
                "job %s finished after it had been recovered as abandoned; "
                "its outcome was dropped (the recovered run counts)",
                row.pk,
            )
        elif outcome.retry_at is not None:
            logger.warning(
                "job %s (%s) failed attempt %d of %d with %s; retrying at %s",
                row.pk,
                row.task_path,
                task_result.attempts,
                policy_of(task).max_attempts,
                type(outcome.error).__name__,
                outcome.retry_at.isoformat(),
            )
        else:
            row.refresh_from_db()
            task_finished.send(sender=sender, task_result=row.task_result)


def run_database_worker(
    backend: FusionDatabaseBackend,
    *,
    queue_names: list[str] | None = None,
    worker_id: str | None = None,
    interval: float | None = None,
    batch: bool = False,
    max_tasks: int | None = None,
    startup_delay: bool = True,
    maintenance: bool = True,
    **ignored: Any,
) -> None:
    """Run the worker loop in this process until SIGTERM/SIGINT (or, with
    `batch`, until no job is ready; with `max_tasks`, after that many).

    `queue_names`: Django queue names, `["*"]` for all (the default is the
    backend's QUEUES). Options of the broker engine's worker are ignored.
    """
    worker = FusionDatabaseWorker(
        backend=backend,
        queue_names=queue_names or sorted(backend.queues) or ["*"],
        interval=backend.fusion_options.poll_interval_seconds
        if interval is None
        else interval,
        batch=batch,
        startup_delay=startup_delay,
        max_tasks=max_tasks,
        worker_id=worker_id or worker_identity(),
        excluded_queue_names=[],
    )
    thread = MaintenanceThread(backend) if maintenance else None
    if thread is not None:
        thread.start()
    worker.configure_signals()
    try:
        worker.run()
    finally:
        worker.reset_signals()
        if thread is not None:
            thread.stop()
