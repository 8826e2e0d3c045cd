"""Fusion's queues as an operator reads them: jobs by state and queue, each
queue's oldest ready job and its pending dead letters (`fusion_status`).

The one place these numbers are computed: `FusionEngine.stats()` (health
checks, `FusionClient.check()`), `get_client("fusion").status()` (the
readiness check's per-queue limits, `manage.py fusion_status`, the admin's
job pages) all come from here. Each engine names its table with a
`JobTable` (`FusionEngine.jobs`): django-tasks-db's rows for the database
engine, FusionJob rows for the broker engine.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db.models import Case, Count, F, Min, Model, Q, When
from django.db.models.expressions import Combinable
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult, get_date_max

from core.fusion.dead_letters import pending_dead_letters
from core.models.fusion import FusionJob
from core.utils.fusion.queue_status import FusionStatus, QueueStatus

if TYPE_CHECKING:
    from core.fusion.engine import FusionEngine

_READY, _RUNNING = TaskResultStatus.READY, TaskResultStatus.RUNNING
_FINISHED = {
    "successful": TaskResultStatus.SUCCESSFUL,
    "failed": TaskResultStatus.FAILED,
}


@dataclass(frozen=True)
class JobTable:
    """Where an engine keeps its jobs, and how to tell a ready one.

    - `due(now)`: READY jobs a worker may take now (not waiting for a retry).
    - `became_ready`: when such a job became ready (its age counts from it).
    """

    model: type[Model]
    due: Callable[[datetime], Q]
    became_ready: Callable[[], Combinable]

    def scheduled(self, now: datetime) -> Q:
        """READY jobs waiting for their run time (a retry's backoff)."""
        return Q(status=_READY) & ~self.due(now)


def _database_due(now: datetime) -> Q:
    # django-tasks-db marks "no run_after" with the far future.
    return Q(status=_READY) & (Q(run_after=get_date_max()) | Q(run_after__lte=now))


def _database_became_ready() -> Combinable:
    return Case(
        When(run_after=get_date_max(), then=F("enqueued_at")), default=F("run_after")
    )


#: The database engine's jobs: django-tasks-db's DBTaskResult rows.
DATABASE_JOBS = JobTable(
    model=DBTaskResult, due=_database_due, became_ready=_database_became_ready
)
#: The broker engine's jobs: FusionJob rows (its outbox and ledger).
BROKER_JOBS = JobTable(
    model=FusionJob,
    due=lambda now: Q(status=_READY, run_after__lte=now),
    became_ready=lambda: F("run_after"),
)


def fusion_status(
    engine: "FusionEngine", *, include_finished: bool = False
) -> FusionStatus:
    """A snapshot of `engine`'s queues (its TASKS alias only): the queues it
    is configured with, and any other queue holding jobs or dead letters,
    sorted by name. Two queries (jobs grouped by queue, dead letters grouped
    by queue); without `include_finished` the first reads only waiting and
    running jobs, which an index finds, so it stays cheap for readiness.
    """
    now = timezone.now()
    table = engine.jobs
    statuses = [_READY, _RUNNING]
    counts: dict[str, Any] = {
        "ready": Count("pk", filter=table.due(now)),
        "scheduled": Count("pk", filter=table.scheduled(now)),
        "running": Count("pk", filter=Q(status=_RUNNING)),
        "oldest": Min(table.became_ready(), filter=table.due(now)),
    }
    if include_finished:
        statuses += list(_FINISHED.values())
        for state, status in _FINISHED.items():
            counts[state] = Count("pk", filter=Q(status=status))
    rows = {
        row.pop("queue_name"): row
        for row in table.model._default_manager.filter(
            backend_name=engine.alias, status__in=statuses
        )
        .values("queue_name")
        .annotate(**counts)
        .order_by()
    }
    letters = dict(
        pending_dead_letters()
        .filter(backend_name=engine.alias)
        .values_list("queue_name")
        .annotate(Count("pk"))
        .order_by()
    )
    names = sorted(set(getattr(engine, "queues", ())) | set(rows) | set(letters))
    return FusionStatus(
        engine=engine.engine_name,
        backend=engine.alias,
        queues=tuple(
            _queue(name, rows.get(name), letters.get(name, 0), now, include_finished)
            for name in names
        ),
        finished_counted=include_finished,
    )


def _queue(
    name: str,
    row: dict[str, Any] | None,
    dead_letters: int,
    now: datetime,
    include_finished: bool,
) -> QueueStatus:
    row = row or {}
    oldest = row.get("oldest")
    finished = {
        state: row.get(state, 0) if include_finished else None for state in _FINISHED
    }
    return QueueStatus(
        queue=name,
        ready=row.get("ready", 0),
        scheduled=row.get("scheduled", 0),
        running=row.get("running", 0),
        oldest_ready_age_seconds=(
            max((now - oldest).total_seconds(), 0.0) if oldest else None
        ),
        dead_letters=dead_letters,
        **finished,
    )
