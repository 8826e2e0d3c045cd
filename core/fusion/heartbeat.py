"""Heartbeats, not timeouts, tell a dead worker from a slow one.

Every worker process registers (`FusionWorker`, core/fusion/workers.py)
before it takes a job and runs a `Heartbeat` thread that, every
`heartbeat_seconds`:

1. beats: sets its row's `last_beat_at` (the thread has its own database
   connection, and beats while the job runs in the main thread);
2. looks for workers of its backend silent for `heartbeat_stale_seconds`
   (SIGKILL, OOM, a frozen or partitioned host) and recovers each one's
   jobs (`recover_lost_workers`): the worker is marked lost and its RUNNING
   jobs go back to their queue at once, in one transaction. The attempt
   counts, so a job that kills its worker every time still ends as a dead
   letter. A job is recovered within about `heartbeat_stale_seconds` plus
   one beat of its worker's death, whatever its time limit; the time limit
   (plus `recovery_grace_seconds`) stays as the backstop for a live worker
   stuck in a job and for workers that never registered.

A slow but live worker keeps beating and keeps its job. A worker that was
only frozen (SIGSTOP, a VM pause) and wakes up finds its registration lost
(its beat is refused): it logs that its jobs were given away and registers
afresh. Each attempt carries a token (the database engine: the row's
`started_at`; the broker engine: `attempts` and `worker_id`), and an
outcome is written only under that token, so the woken worker's finish
changes nothing; for an `atomic` job its writes roll back with it
(core/fusion/execution.py). The refusal is logged and counted on the
worker's row (`refused_finishes`).
"""

import logging
import threading
import time

from django.db import DatabaseError, connection, transaction

from core.fusion.engine import FusionEngine
from core.fusion.workers import (
    Beat,
    beat,
    mark_lost,
    mark_stopped,
    register,
    stale_workers,
)

logger = logging.getLogger(__name__)


def recover_lost_workers(engine: FusionEngine) -> int:
    """Mark lost the stale workers of `engine`'s backend and put their
    RUNNING jobs back in the queue; returns how many jobs."""
    stale_seconds = engine.fusion_options.heartbeat_stale_seconds
    recovered = 0
    for worker_id in stale_workers(engine.alias, stale_seconds):
        with transaction.atomic():
            if not mark_lost(worker_id, stale_seconds):
                continue  # it beat meanwhile, or another worker took it
            jobs = engine.recover_jobs_of(worker_id)
        recovered += jobs
        logger.log(
            logging.WARNING if jobs else logging.INFO,
            "worker %s stopped beating for more than %g s: presumed dead; %d "
            "running job(s) returned to the queue",
            worker_id,
            stale_seconds,
            jobs,
        )
    return recovered


class Heartbeat(threading.Thread):
    """The heartbeat of worker `worker_id` of `engine`; see the module doc.

    `start()` registers the worker first (in the caller's thread), so no
    job is ever started by an unregistered worker. `lost` is set whenever a
    beat found the worker had been presumed dead.
    """

    def __init__(self, engine: FusionEngine, worker_id: str) -> None:
        super().__init__(name="fusion-heartbeat", daemon=True)
        self.engine = engine
        self.worker_id = worker_id
        self.lost = threading.Event()
        self.interval = engine.fusion_options.heartbeat_seconds
        self._stopped = threading.Event()
        #: When this worker last beat (monotonic): registering is a beat.
        self._last_beat = time.monotonic()

    def start(self) -> None:
        """Register the worker, then start beating."""
        try:
            register(self.worker_id, self.engine.alias)
        except DatabaseError:
            logger.warning("worker %s not registered yet (the database is "
                           "unavailable); its first beat registers it",
                           self.worker_id)  # fmt: skip
        super().start()

    def run(self) -> None:
        """The thread's loop (started by `start()`)."""
        try:
            while not self._stopped.wait(self.interval):
                self.beat_once()
        finally:
            connection.close()

    def beat_once(self) -> None:
        """One beat, then one look for dead workers; a database error is
        logged, and the connection dropped, until the next beat."""
        try:
            state = beat(self.worker_id, self.engine.alias)
            on_time = time.monotonic() - self._last_beat <= 2 * self.interval
            self._last_beat = time.monotonic()
            if state is Beat.WAS_LOST:
                self.lost.set()
                logger.error(
                    "worker %s was presumed dead (no heartbeat for %g s: frozen, "
                    "or its host was); the jobs it was running were given to "
                    "other workers and their finish here will be refused",
                    self.worker_id,
                    self.engine.fusion_options.heartbeat_stale_seconds,
                )
            # A worker whose own beat was late (it was frozen, or the
            # database was locked: SQLite has one writer) judges nobody this
            # round: the others' beats were likely held up the same way.
            if on_time and recover_lost_workers(self.engine):
                self.engine.relay_unpublished()  # the broker engine: publish now
        except DatabaseError as exc:
            logger.warning(
                "worker %s: heartbeat failed (%s); trying again",
                self.worker_id,
                type(exc).__name__,
            )
            connection.close()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop beating and record a clean stop (nothing to recover)."""
        self._stopped.set()
        self.join(timeout)
        try:
            mark_stopped(self.worker_id)
        except DatabaseError:
            logger.warning("worker %s: clean stop not recorded (the database "
                           "is unavailable)", self.worker_id)  # fmt: skip
