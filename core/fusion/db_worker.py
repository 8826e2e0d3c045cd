"""Fusion's worker for the database engine (`manage.py fusion_worker`).

Fusion's loop (on django-tasks-db's `Worker`, for its options and signal
handling) claims rows in batches and records each job's outcome together
with the start of the next one, one commit per job (`db_claims.py`); an idle
worker is woken by LISTEN/NOTIFY on PostgreSQL, or polls (`wakeup.py`).
Each job runs with its time limit; a failure is recorded as a retry or a
dead letter instead of a plain failure. A maintenance thread recovers jobs
of dead workers. If a job swallows its
time limit and keeps running, the hard limit replaces this process with a
fresh copy of itself (same pid, so whatever supervises it sees no change);
the abandoned job is then recovered like any job of a dead worker.
"""

import logging
import os
import random
import sys
import time
from collections.abc import Callable
from typing import Any

from django.core.exceptions import SuspiciousOperation
from django.db import close_old_connections, router
from django.tasks.signals import task_finished, task_started
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from core.fusion.db_backend import FusionDatabaseBackend, policy_for_path
from core.fusion.db_claims import Claimer
from core.fusion.engine import MaintenanceThread
from core.fusion.execution import Outcome, run_attempt, worker_identity
from core.fusion.wakeup import Waker, waker_for

logger = logging.getLogger(__name__)

#: How often a worker drops expired or broken database connections.
CONNECTION_CHECK_SECONDS = 1.0


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
    """django-tasks-db's worker (options, signal handling) with Fusion's loop:
    batch claims and one commit per job (`db_claims.Claimer`), LISTEN/NOTIFY
    wake-ups on PostgreSQL (`wakeup.py`), and Fusion's handling of each job.

    SIGTERM/SIGINT while a job runs (or while its outcome is being recorded)
    let it finish and be recorded, give the leased rows back, and exit; while
    idle they exit at once.
    """

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
        self.claimer = Claimer(
            alias=backend.alias,
            worker_id=self.worker_id,
            queue_names=self.queue_names,
            batch_size=backend.fusion_options.claim_batch_size,
            record_outcome=backend.record_outcome,
        )

    def run(self) -> None:
        """Run jobs until stopped; see the class docstring."""
        logger.info(
            "Starting worker worker_id=%s queues=%s",
            self.worker_id,
            ",".join(self.queue_names),
        )
        if self.startup_delay and self.interval:
            time.sleep(random.random())  # noqa: S311 - spread a thundering herd
        # A batch run exits instead of waiting: it needs no listener.
        waker = (
            Waker()
            if self.batch
            else waker_for(
                self.backend.alias, router.db_for_write(DBTaskResult), self.queue_names
            )
        )
        self.running_task = True  # busy: a stop signal waits for the loop
        try:
            waker.listen()
            self._loop(waker)
        finally:
            self.running_task = True
            self.claimer.release()
            waker.close()

    def _loop(self, waker: Waker) -> None:
        finished: tuple[DBTaskResult, Outcome] | None = None
        checked = 0.0
        while True:
            # Like Django per request, but not per job, nor right after a
            # wake-up (that would delay the pickup): with conn_health_checks
            # each check costs a query, and on SQLite (CONN_MAX_AGE 0) a
            # reconnect. After a failed job (it may have broken the
            # connection) and at least every CONNECTION_CHECK_SECONDS.
            failed = finished is not None and not finished[1].succeeded
            if failed or time.monotonic() - checked >= CONNECTION_CHECK_SECONDS:
                close_old_connections()
                checked = time.monotonic()
            more = self.running and (
                self.max_tasks is None or self._run_tasks < self.max_tasks
            )
            recorded, row = self.claimer.advance(finished, start=more)
            if finished is not None:
                self._after_record(*finished, recorded=bool(recorded))
            finished = None
            if row is not None:
                finished = (row, self._run(row))
                self._run_tasks += 1
                continue
            if not more or self.batch:
                return
            self.running_task = False  # idle: a stop signal exits at once
            try:
                waker.wait(self.interval)
            finally:
                self.running_task = True

    def _run(self, row: DBTaskResult) -> Outcome:
        """Run one started job (its outcome is recorded by the next advance)."""
        try:
            task = row.task
        except (ImportError, SuspiciousOperation) as exc:  # the code is gone
            logger.error("job %s: %s is not a job; buried", row.pk, row.task_path)
            return Outcome(succeeded=False, error=exc)
        task_result = row.task_result
        task_started.send(sender=type(self.backend), task_result=task_result)
        return run_attempt(
            task,
            task_result,
            hard_grace_seconds=self.backend.fusion_options.hard_limit_grace_seconds,
            on_hard_limit=self.on_hard_limit,
        )

    def _after_record(
        self, row: DBTaskResult, outcome: Outcome, *, recorded: bool
    ) -> None:
        if not recorded:
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
                len(row.worker_ids),
                policy_for_path(row.task_path).max_attempts,
                type(outcome.error).__name__,
                outcome.retry_at.isoformat(),
            )
        else:
            try:
                task_result = row.task_result
            except (ImportError, SuspiciousOperation):
                return
            task_finished.send(sender=type(self.backend), task_result=task_result)


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
