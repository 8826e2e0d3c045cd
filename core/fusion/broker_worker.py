"""The broker engine's worker side: the Celery task that runs every job, the
maintenance bootstep, and `run_celery_worker` for `manage.py fusion_worker`.

A message names a `FusionJob`; the worker claims the row (one conditional
UPDATE that counts the attempt), runs the job with its time limit and
records the outcome on the row: done, retry later (the relay publishes it
when due), or dead letter. A claim that finds the row finished, running
elsewhere or not yet due drops the message: duplicates are harmless.
"""

import logging
import os
import time
from typing import TYPE_CHECKING, Any, cast

from celery import bootsteps  # type: ignore[import-untyped]
from celery.exceptions import Reject  # type: ignore[import-untyped]
from django.db import DatabaseError, close_old_connections
from django.tasks import Task, task_backends
from django.tasks.signals import task_finished, task_started
from django.utils.module_loading import import_string

from core.fusion.engine import FusionEngine, MaintenanceThread
from core.fusion.execution import Outcome, run_attempt, worker_identity
from core.fusion.heartbeat import Heartbeat
from core.fusion.workers import record_refused_finish
from core.utils.fusion.exceptions import WorkerLost
from core.utils.fusion.jobs import policy_of

if TYPE_CHECKING:
    from core.fusion.broker_backend import FusionCeleryBackend

logger = logging.getLogger(__name__)

#: While the database is unreachable, each message goes back to the queue
#: after this pause, instead of spinning through redeliveries.
DATABASE_OUTAGE_PAUSE_SECONDS = 1.0

#: How often a worker drops expired or broken database connections.
CONNECTION_CHECK_SECONDS = 1.0

#: The `celery worker` options of every Fusion worker: none of Celery's
#: messages between workers. Gossip and mingle (cluster state at start-up)
#: serve nothing here, and neither do event heartbeats (`worker-heartbeat`
#: events, for Flower; Fusion's heartbeat in the database finds dead
#: workers). They are timers and publishes on the event loop that runs the
#: jobs, for nothing. (They were first blamed for the loop's pauses of
#: 1-2 s; turning them off made those rarer, and PromptCallbacksStep below
#: removed their cause.)
WORKER_OPTIONS = ("--without-gossip", "--without-mingle", "--without-heartbeat")

_identity: dict[int, str] = {}
_heartbeats: dict[int, Heartbeat] = {}
#: When each process (prefork children each) last checked its connections.
_connections_checked_at: dict[int, float] = {}


def _worker_id() -> str:
    """This process's worker id (prefork children each have their own)."""
    pid = os.getpid()
    if pid not in _identity:
        _identity[pid] = worker_identity()
    return _identity[pid]


def run_job(celery_task: Any, job_id: str) -> None:
    """Body of the Celery task `fusion.run_job` (bound): run one Fusion job.

    If the database is unreachable, the message is rejected back to the
    queue (acks_late), so nothing is lost while it is down.
    """
    backend = cast("FusionCeleryBackend", task_backends[celery_task.app.fusion_alias])
    delivery = celery_task.request.delivery_info or {}
    _check_connections()
    try:
        execute_job(backend, job_id, redelivered=bool(delivery.get("redelivered")))
    except DatabaseError as exc:
        _connections_checked_at.clear()  # check before the next job
        logger.warning(
            "job %s: database unavailable (%s); returning it to the queue",
            job_id,
            type(exc).__name__,
        )
        time.sleep(DATABASE_OUTAGE_PAUSE_SECONDS)
        raise Reject(
            f"database unavailable: {type(exc).__name__}", requeue=True
        ) from exc


def _check_connections() -> None:
    """Drop broken or expired database connections, like Django per request,
    but at most every CONNECTION_CHECK_SECONDS (and after a database error):
    with conn_health_checks each check costs the next job a `SELECT 1`."""
    pid, now = os.getpid(), time.monotonic()
    if now - _connections_checked_at.get(pid, -CONNECTION_CHECK_SECONDS) >= (
        CONNECTION_CHECK_SECONDS
    ):
        close_old_connections()
        _connections_checked_at[pid] = now


def execute_job(
    backend: "FusionCeleryBackend", job_id: str, *, redelivered: bool
) -> Outcome | None:
    """Claim, run and record job `job_id`; None if it was not claimable.

    `redelivered` (RabbitMQ's flag: the previous consumer died before
    acknowledging) lets a RUNNING row be claimed again at once, instead of
    after its time limit and grace period.
    """
    _heartbeat(backend)
    row = backend.claim(job_id, worker_id=_worker_id(), redelivered=redelivered)
    if row is None:
        logger.debug("job %s: not claimable (finished, running or not due)", job_id)
        return None
    try:
        task = import_string(row.task_path)
        if not isinstance(task, Task):
            raise TypeError(f"{row.task_path} is not a job")
    except (ImportError, TypeError) as exc:
        outcome = Outcome(succeeded=False, error=exc)
    else:
        outcome = _attempt(backend, row, task)
    recorded = outcome.recorded or (
        not outcome.refused and backend.record_outcome(row, outcome)
    )
    if not recorded:
        record_refused_finish(row.worker_id, job_id)
    elif outcome.retry_at is not None:
        logger.warning(
            "job %s (%s) failed attempt %d with %s; retrying at %s",
            job_id,
            row.task_path,
            row.attempts,
            type(outcome.error).__name__,
            outcome.retry_at.isoformat(),
        )
    else:  # record_outcome updated `row` in memory: no re-read
        task_finished.send(type(backend), task_result=backend.task_result_of(row))
    return outcome


def _attempt(backend: "FusionCeleryBackend", row: Any, task: Task) -> Outcome:
    policy = policy_of(task)
    if row.attempts > policy.max_attempts:
        # Each earlier attempt ended with its worker gone (the message was
        # redelivered each time): this job may be what kills them.
        return Outcome(
            succeeded=False,
            error=WorkerLost(
                f"The worker stopped during each of the job's {policy.max_attempts} "
                "attempts."
            ),
        )
    task_result = backend.task_result_of(row, task)
    task_started.send(type(backend), task_result=task_result)
    # Soft limit by SIGALRM here; the hard limit is Celery's own (prefork).
    return run_attempt(
        task,
        task_result,
        record_success=lambda outcome: backend.record_outcome(row, outcome),
    )


def _heartbeat(backend: "FusionCeleryBackend") -> None:
    """Start this process's heartbeat (registering it) before its first job:
    each prefork child beats for itself, since it is the one running jobs."""
    pid = os.getpid()
    if pid not in _heartbeats:
        _heartbeats[pid] = Heartbeat(backend, _worker_id())
        _heartbeats[pid].start()


class MaintenanceStep(bootsteps.StartStopStep):
    """Celery worker bootstep: Fusion's maintenance thread (recovery of dead
    workers' jobs, relay of unpublished jobs, pruning) and the main
    process's heartbeat (which also recovers the jobs of workers that
    stopped beating, prefork children included), started after the pool so
    forked children do not inherit them.

    It also sets RabbitMQ's own heartbeat (AMQP) to `heartbeat_stale_seconds`:
    a frozen worker's connection is then closed within about twice that,
    and the messages it had prefetched go to live workers instead of
    waiting for it to thaw."""

    requires = {"celery.worker.components:Pool"}

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.thread: MaintenanceThread | None = None
        backend = cast(FusionEngine, task_backends[parent.app.fusion_alias])
        parent.app.conf.broker_heartbeat = (
            backend.fusion_options.heartbeat_stale_seconds
        )

    def start(self, parent: Any) -> None:
        """Start the maintenance thread and the heartbeat."""
        backend = cast("FusionCeleryBackend", task_backends[parent.app.fusion_alias])
        self.thread = MaintenanceThread(backend)
        self.thread.start()
        _heartbeat(backend)

    def stop(self, parent: Any) -> None:
        """Stop them (waits for the current maintenance round)."""
        if self.thread is not None:
            self.thread.stop()
        heartbeat = _heartbeats.pop(os.getpid(), None)
        if heartbeat is not None:
            heartbeat.stop()


class PromptCallbacksStep(bootsteps.StartStopStep):
    """Celery worker bootstep: the event loop never sleeps while callbacks
    it queued itself are waiting, such as the acknowledgement of a finished job.

    kombu's hub (5.6 and 5.7) runs the callbacks queued with `call_soon` at
    the top of each turn of its loop, then polls its sockets until the next
    timer. A callback that the loop's own thread queues after that point
    waits for the poll. Celery queues its acknowledgements that way
    (acks_late): once a worker has finished every message it prefetched,
    RabbitMQ sends nothing more until those acknowledgements arrive, and the
    poll sleeps until the next timer. That timer is the AMQP heartbeat check,
    every heartbeat / 3 seconds, so 2 s with Fusion's 6 s heartbeat. Measured
    with bench_jobs before this step: a third of the rounds had both workers
    idle for 1.1-1.8 s, each pause ending on that timer (3 s with a 9 s
    heartbeat). A prefetch of 1 (broker_app.py) stalled the same way, at
    15-65 jobs/s; with this step it runs at about 700.

    The step adds a tick callback (`hub.on_tick`, run just before each
    poll) that wakes the poll at once when callbacks are waiting. It reads
    the hub's queue and waker, which kombu keeps private: pinned kombu, and
    tests/core/fusion/test_prompt_callbacks.py shows the stall without it.
    """

    requires = {"celery.worker.components:Hub"}

    def start(self, parent: Any) -> None:
        """Add the tick callback to the worker's hub (when it has one: not
        with the gevent or eventlet pools, which do not use it)."""
        if parent.hub is not None:
            wake_for_queued_callbacks(parent.hub)


def wake_for_queued_callbacks(hub: Any) -> None:
    """Make `hub` (kombu's event loop) poll without waiting whenever
    callbacks are queued; see `PromptCallbacksStep`."""

    def wake_if_queued() -> None:
        waker = hub._waker  # private, see PromptCallbacksStep
        if hub._ready and waker is not None:
            waker.wake()

    hub.on_tick.add(wake_if_queued)


def run_celery_worker(
    backend: "FusionCeleryBackend",
    *,
    queue_names: list[str] | None = None,
    worker_id: str | None = None,
    pool: str = "prefork",
    concurrency: int | None = None,
    loglevel: str = "INFO",
    **ignored: Any,
) -> None:
    """Run a Celery worker for `backend` in this process, consuming the
    broker queues of `queue_names` (Django queue names; default: QUEUES)."""
    names = queue_names or sorted(backend.queues) or ["default"]
    if "*" in names:
        raise ValueError(
            "The broker engine consumes named queues; pass them, e.g. "
            "--queue-name default,reports (not '*')."
        )
    argv = [
        "worker",
        f"--queues={','.join(backend.link.queue_for(name) for name in names)}",
        f"--pool={pool}",
        f"--loglevel={loglevel}",
        *WORKER_OPTIONS,
    ]
    if concurrency:
        argv.append(f"--concurrency={concurrency}")
    if worker_id:
        argv.append(f"--hostname={worker_id}")
    backend.link.app.worker_main(argv)
