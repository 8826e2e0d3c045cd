"""Fusion's worker for the database engine (`manage.py fusion_worker`).

Fusion's loop (on django-tasks-db's `Worker`, for its options and signal
handling) claims rows in batches and records each job's outcome together
with the start of the next one, one commit per job (`db_claims.py`); an idle
worker is woken by LISTEN/NOTIFY on PostgreSQL, or polls (`wakeup.py`).
Each job runs with its time limit; a failure is recorded as a retry or a
dead letter instead of a plain failure. A heartbeat thread registers the
worker, beats, and recovers the jobs of workers that stopped beating
(heartbeat.py); a maintenance thread does the engine's periodic rounds.
When the database stops answering (a restart, a failover), the worker
waits and tries again, longer each time, and records the job it had
finished once it can: it never exits on a connection error. If a job
swallows its time limit and keeps running, the hard limit replaces this
process with a fresh copy of itself (same pid, so whatever supervises it
sees no change); the abandoned job is then recovered like any job of a dead
worker (the fresh copy registers anew; the old registration stops beating).
"""

import logging
import os
import random
import sys
import time
from collections.abc import Callable
from typing import Any

from django.core.exceptions import SuspiciousOperation
from django.db import (
    InterfaceError,
    OperationalError,
    close_old_connections,
    connections,
    router,
)
from django.tasks.signals import task_finished, task_started
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from core.fusion.db_backend import FusionDatabaseBackend, policy_for_path
from core.fusion.db_claims import Claimer
from core.fusion.engine import MaintenanceThread
from core.fusion.execution import Outcome, run_attempt, worker_identity
from core.fusion.heartbeat import Heartbeat
from core.fusion.wakeup import Waker, waker_for
from core.fusion.workers import record_refused_finish

logger = logging.getLogger(__name__)

#: How often a worker drops expired or broken database connections.
CONNECTION_CHECK_SECONDS = 1.0
#: While the database cannot be reached, the worker waits this long before
#: trying again, doubling from the first to the last: it rides out an outage
#: (a restart, a failover) instead of exiting with its jobs unrecorded.
OUTAGE_RETRY_SECONDS = (0.5, 10.0)


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
            worker_id=self.worker_id[:64],
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
            try:
                self.claimer.release()
            except (OperationalError, InterfaceError):
                logger.warning(
                    "leased jobs not given back (the database is "
                    "unavailable); their leases lapse by themselves"
                )
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
            # An atomic job's success was stored in its own transaction.
            pending = None if finished is None or finished[1].settled else finished
            try:
                recorded, row = self.claimer.advance(pending, start=more)
            except (OperationalError, InterfaceError) as exc:
                if pending is None and not more:
                    return  # stopping, with nothing left to record
                # The job that just ran (if any) is kept, and its outcome
                # recorded once the database answers: run once, not twice.
                self._wait_out_outage(exc)
                continue
            self.outage_retries = 0
            if finished is not None:
                stored = finished[1].recorded if pending is None else recorded
                self._after_record(*finished, recorded=bool(stored))
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

    #: Tries since the database last answered (0 while it answers).
    outage_retries = 0

    def _wait_out_outage(self, error: Exception) -> None:
        """The database did not answer: drop the broken connections and wait
        before trying again, longer each time (OUTAGE_RETRY_SECONDS)."""
        first, last = OUTAGE_RETRY_SECONDS
        delay = min(last, first * 2**self.outage_retries)
        self.outage_retries += 1
        logger.warning(
            "The database is unavailable (%s: %s); worker %s tries again in "
            "%.1f s (try %d)",
            type(error).__name__,
            str(error).strip().splitlines()[0] if str(error).strip() else "",
            self.worker_id,
            delay,
            self.outage_retries,
        )
        connections.close_all()
        time.sleep(delay)

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
            record_success=lambda outcome: self.backend.record_outcome(row, outcome),
        )

    def _after_record(
        self, row: DBTaskResult, outcome: Outcome, *, recorded: bool
    ) -> None:
        if not recorded:
            record_refused_finish(self.worker_id, str(row.pk))
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
    heartbeat = Heartbeat(backend, worker.worker_id)
    heartbeat.start()
    worker.configure_signals()
    try:
        worker.run()
    finally:
        worker.reset_signals()
        heartbeat.stop()
        if thread is not None:
            thread.stop()
