"""The embedded engine: django-tasks-db's table and worker, plus what it lacks.

django-tasks-db stores each job as a `DBTaskResult` row, inserted in the
enqueuing transaction (so a rolled-back job never exists), and its worker
claims rows with SELECT ... FOR UPDATE SKIP LOCKED. Fusion adds:

- retries: a failed attempt puts the same row back to READY with
  `run_after` = now + backoff (attempts are `len(worker_ids)`, one per claim);
- dead letters: the last failed attempt marks it FAILED and writes a
  `FusionDeadLetter` in the same transaction;
- time limits, enforced in Fusion's worker (`db_worker.py`);
- recovery: a RUNNING row whose worker stopped beating is requeued at once
  (core/fusion/heartbeat.py); as a backstop, one older than its time limit
  plus `recovery_grace_seconds` is requeued too (a worker stuck in it, or
  one that never registered). Either is buried when out of attempts.

Every state change is one UPDATE guarded by the row's status and start
time, so a worker and a recovering peer can never both record an outcome.
"""

from datetime import datetime, timedelta
from typing import Any

from django.tasks import Task, TaskResultStatus
from django.utils import timezone
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.backend import TaskResult as DatabaseTaskResult
from django_tasks_db.models import DBTaskResult

from core.fusion.engine import FusionEngine
from core.fusion.execution import (
    Outcome,
    describe_error,
    describe_traceback,
    failure_outcome,
)
from core.fusion.outcomes import record_attempt_outcome, recover_lost_attempts
from core.fusion.status import DATABASE_JOBS
from core.fusion.workers import prune_workers
from core.utils.fusion.exceptions import WorkerLost
from core.utils.fusion.jobs import (
    job_payload,
    policy_for_path,
)
from core.utils.fusion.options import EngineOptions

#: Stale rows handled per maintenance round; the rest wait for the next one.
RECOVERY_BATCH = 100


class FusionDatabaseBackend(FusionEngine, DatabaseBackend):
    """`settings.TASKS` backend of the embedded engine; see the module docstring.

    OPTIONS: those of `EngineOptions` (the broker ones are ignored) and
    django-tasks-db's own (`id_function`).
    """

    engine_name = "database"
    jobs = DATABASE_JOBS

    def __init__(self, alias: str, params: dict[str, Any]) -> None:
        super().__init__(alias, params)
        self.fusion_options = EngineOptions.from_options(alias, self.options)

    def enqueue(self, task: Task, args: Any, kwargs: Any) -> DatabaseTaskResult:
        """Insert the job's row (in the caller's transaction, if any). On
        PostgreSQL a trigger on the table wakes idle workers when the insert
        commits (migration core 0023; see wakeup.py)."""
        job_payload(task, args, kwargs)  # a clear error for non-JSON arguments
        return super().enqueue(task, args, kwargs)

    # -- recording outcomes -------------------------------------------------

    def record_outcome(self, row: DBTaskResult, outcome: Outcome) -> bool:
        """Store `outcome` of the attempt that claimed `row`; False if the row
        is no longer that attempt (recovered meanwhile), and nothing changed.
        When stored, `row` (in memory) shows it too, as a re-read would."""
        now = timezone.now()
        recorded = record_attempt_outcome(
            # The attempt's token: its start time and its workers (the last
            # is this attempt's, their number the attempt's).
            DBTaskResult.objects.filter(
                pk=row.pk,
                status=TaskResultStatus.RUNNING,
                started_at=row.started_at,
                worker_ids=row.worker_ids,
            ),
            outcome,
            error_columns=lambda error: {
                "exception_class_path": describe_error(error)[0],
                "traceback": describe_traceback(error),
            },
            cleared_error={"exception_class_path": "", "traceback": ""},
            retry_columns={},
            dead_letter={
                "job_id": str(row.pk),
                "task_path": row.task_path,
                "backend_name": row.backend_name,
                "queue_name": row.queue_name,
                "args_kwargs": row.args_kwargs,
                "attempts": len(row.worker_ids),
                "enqueued_at": row.enqueued_at,
            },
            now=now,
        )
        if recorded:
            show_outcome(row, outcome, now)
        return recorded

    # -- FusionEngine -----------------------------------------------------

    def recover_stale_jobs(self) -> int:
        """See `FusionEngine.recover_stale_jobs`."""
        now = timezone.now()
        grace = timedelta(seconds=self.fusion_options.recovery_grace_seconds)
        candidates = DBTaskResult.objects.filter(
            backend_name=self.alias,
            status=TaskResultStatus.RUNNING,
            started_at__lt=now - grace,
        ).order_by("started_at")[:RECOVERY_BATCH]
        recovered = 0
        for row in candidates:
            policy = policy_for_path(row.task_path)
            limit = timedelta(seconds=policy.time_limit_seconds)
            if row.started_at is None or row.started_at >= now - limit - grace:
                continue  # still within its time limit: the worker may be alive
            attempts = len(row.worker_ids)
            lost = WorkerLost(
                f"Worker {row.worker_ids[-1] if row.worker_ids else '?'} stopped "
                f"during attempt {attempts} (killed, crashed, or past the hard "
                "time limit)."
            )
            recovered += self.record_outcome(
                row, failure_outcome(lost, attempts, policy)
            )
        return recovered

    def recover_jobs_of(self, worker_id: str) -> int:
        """See `FusionEngine.recover_jobs_of`. The worker ids are a JSON list
        (its last is the attempt's worker), which SQLite cannot search: the
        RUNNING rows (about one per worker) are filtered here."""
        running = DBTaskResult.objects.filter(
            backend_name=self.alias, status=TaskResultStatus.RUNNING
        )
        mine = [row for row in running if row.worker_ids[-1:] == [worker_id]]
        return recover_lost_attempts(mine, worker_id, _attempts, self.record_outcome)

    def prune_finished(self) -> int:
        """See `FusionEngine.prune_finished`; registrations of workers gone
        that long go too."""
        retention = self.fusion_options.result_retention_seconds
        prune_workers(retention)
        cutoff = timezone.now() - timedelta(seconds=retention)
        deleted, _ = DBTaskResult.objects.filter(
            backend_name=self.alias,
            status__in=[TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED],
            finished_at__lt=cutoff,
        ).delete()
        return deleted

    def ping(self, timeout: float) -> None:
        """The database answers (the stats query is the real probe)."""
        DBTaskResult.objects.filter(backend_name=self.alias).exists()

    def run_worker(self, **options: Any) -> None:
        """Run Fusion's database worker; see `db_worker.run_database_worker`."""
        # Imported here: db_worker imports this module (the worker needs the
        # backend's record_outcome), so a module-level import would be circular.
        from core.fusion.db_worker import run_database_worker

        run_database_worker(self, **options)


def _attempts(row: DBTaskResult) -> int:
    return len(row.worker_ids)  # one id per start


def show_outcome(row: DBTaskResult, outcome: Outcome, now: datetime) -> None:
    """Set on `row` in memory what `record_outcome` wrote."""
    if outcome.succeeded:
        row.status, row.finished_at = TaskResultStatus.SUCCESSFUL, now
        row.return_value = outcome.return_value
        row.exception_class_path = row.traceback = ""
        return
    error = outcome.error or RuntimeError("unknown failure")
    row.exception_class_path = describe_error(error)[0]
    row.traceback = describe_traceback(error)
    if outcome.retry_at is not None:
        row.status, row.run_after = TaskResultStatus.READY, outcome.retry_at
    else:
        row.status, row.finished_at = TaskResultStatus.FAILED, now
