"""What both Fusion backends offer beyond Django's task backend interface.

A Fusion backend is a `django.tasks` backend (enqueue, get_result) that also
knows how to report on its queue, recover jobs of dead workers, and run a
worker. `FusionClient` and the management commands use only this interface,
so they work the same on the database engine and the broker engine.
"""

import logging
import threading
import time
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from django.conf import settings
from django.db import connection
from django.utils.module_loading import import_string

from core.fusion.schedules import run_due_schedules
from core.fusion.status import JobTable, fusion_status
from core.utils.fusion.options import EngineOptions, FusionStats
from core.utils.fusion.queue_status import FusionStatus

logger = logging.getLogger(__name__)

#: Finished jobs are pruned at most this often (a full scan on large tables).
PRUNE_INTERVAL_SECONDS = 3600.0


class FusionEngine(ABC):
    """Mixin for a `django.tasks` backend class; see the module docstring."""

    engine_name: ClassVar[str]
    #: The table of the engine's jobs (core/fusion/status.py).
    jobs: ClassVar[JobTable]
    alias: str  # the settings.TASKS alias, set by Django's task backend
    fusion_options: EngineOptions

    _last_pruned = 0.0
    _prune_lock = threading.Lock()

    def stats(self) -> FusionStats:
        """A snapshot of the queue (ready, running, scheduled, dead letters),
        over every queue; two queries."""
        return self.status().stats()

    def status(self, *, include_finished: bool = False) -> FusionStatus:
        """Jobs by state and queue, each queue's oldest ready job and dead
        letters; see `core.fusion.status.fusion_status`."""
        return fusion_status(self, include_finished=include_finished)

    @abstractmethod
    def ping(self, timeout: float) -> None:
        """Raise if the engine's stores (database, broker) are unreachable."""

    @abstractmethod
    def recover_stale_jobs(self) -> int:
        """Requeue (or bury, when out of attempts) RUNNING jobs whose worker
        must be dead: started longer ago than their time limit plus
        `recovery_grace_seconds`. Returns how many were recovered."""

    @abstractmethod
    def recover_jobs_of(self, worker_id: str) -> int:
        """Put the RUNNING jobs of `worker_id`, presumed dead (its heartbeat
        stopped; core/fusion/heartbeat.py), back in their queue at once, or
        bury those out of attempts; the attempt counts. Returns how many."""

    @abstractmethod
    def prune_finished(self) -> int:
        """Delete finished jobs older than `result_retention_seconds`."""

    @abstractmethod
    def run_worker(self, **options: Any) -> None:
        """Run a worker for this backend in this process until stopped."""

    def relay_unpublished(self) -> int:
        """Publish jobs that were committed but not published (broker only)."""
        return 0

    def republish_stranded(self) -> int:
        """Count as unpublished the jobs published long ago and still
        waiting, so this round's relay publishes them again (broker only).
        Returns how many."""
        return 0

    def forget_publications(self) -> int:
        """Count every waiting job as never published, so the next relay
        publishes it again: after the broker lost its messages (broker only;
        the database engine keeps its queue in the database). Returns how
        many jobs will be published again."""
        return 0

    def maintain(self) -> dict[str, int]:
        """One round of what every worker does periodically.

        Example: `{"recovered": 1, "republished": 0, "relayed": 0,
        "scheduled": 1, "pruned": 0}` ("scheduled": jobs enqueued for
        schedule slots, exactly once across all workers; core/fusion/schedules/).
        """
        report = {
            "recovered": self.recover_stale_jobs(),
            "republished": self.republish_stranded(),
            "relayed": self.relay_unpublished(),
            "scheduled": run_due_schedules(),
            "pruned": 0,
            **run_periodic_tasks(),
        }
        with FusionEngine._prune_lock:
            due = time.monotonic() - FusionEngine._last_pruned >= PRUNE_INTERVAL_SECONDS
            if due:
                FusionEngine._last_pruned = time.monotonic()
        if due:
            report["pruned"] = self.prune_finished()
        return report


def run_periodic_tasks() -> dict[str, int]:
    """Call each of settings.FUSION_PERIODIC_TASKS (dotted paths of callables
    taking nothing and returning a count), e.g. sealing and shipping the
    activity log. One failing task is logged and does not stop the others.

    Example: `{"seal_all": 3, "ship_pending": 0}`.
    """
    report: dict[str, int] = {}
    for path in getattr(settings, "FUSION_PERIODIC_TASKS", ()):
        name = path.rsplit(".", 1)[-1]
        try:
            report[name] = int(import_string(path)() or 0)
        except Exception:
            logger.exception("periodic task %s failed; retrying next round", path)
            report[name] = 0
    return report


class MaintenanceThread(threading.Thread):
    """Calls `engine.maintain()` at once and then every
    `maintenance_interval_seconds`, in a daemon thread, until `stop()`.
    A failing round is logged and retried on the next one."""

    def __init__(self, engine: FusionEngine) -> None:
        super().__init__(name="fusion-maintenance", daemon=True)
        self.engine = engine
        self._stopped = threading.Event()

    def run(self) -> None:
        """The thread's loop (started by `start()`)."""
        interval = self.engine.fusion_options.maintenance_interval_seconds
        while not self._stopped.is_set():
            try:
                report = self.engine.maintain()
                if any(report.values()):
                    logger.info("fusion maintenance: %s", report)
            except Exception:
                logger.exception("fusion maintenance round failed; retrying later")
            finally:
                # Not kept between rounds: a prefork pool may fork while this
                # thread holds it, and a child must not share its socket.
                connection.close()
            self._stopped.wait(interval)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after the current round; wait up to `timeout` seconds."""
        self._stopped.set()
        self.join(timeout)
