"""The broker engine: `FusionJob` rows as outbox and ledger, Celery to deliver.

- enqueue: INSERT a `FusionJob` in the caller's transaction; after commit,
  publish its id (a rolled-back job is never published, and never exists);
- relay: a committed job that was never published (the process died right
  after commit, or RabbitMQ was down) is published by any worker's
  maintenance round once `relay_grace_seconds` have passed;
- claim / record: see `broker_worker.py`; a retry waits in the row
  (`run_after`, unpublished) and the relay publishes it when due;
- recovery: a RUNNING row whose worker stopped beating is requeued at once
  (core/fusion/heartbeat.py); as a backstop, one past its deadline plus
  `recovery_grace_seconds` too. Either is buried when out of attempts.

Every transition is one UPDATE guarded by the row's status and attempt
count, so concurrent workers, relays and recoveries cannot double-record.
"""

from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connections, router, transaction
from django.db.models import F, OuterRef, Q, Value
from django.db.models.functions import Coalesce
from django.tasks import Task, TaskResult, TaskResultStatus
from django.tasks.backends.base import BaseTaskBackend
from django.tasks.base import TaskError
from django.tasks.exceptions import TaskResultDoesNotExist
from django.tasks.signals import task_enqueued
from django.utils import timezone
from django.utils.module_loading import import_string

from core.fusion.broker_app import BrokerLink, broker_link
from core.fusion.broker_claims_pg import claim_delivered, record_success
from core.fusion.broker_worker import run_celery_worker
from core.fusion.engine import FusionEngine
from core.fusion.execution import Outcome, describe_error, failure_outcome
from core.fusion.outcomes import record_attempt_outcome, recover_lost_attempts
from core.fusion.status import BROKER_JOBS
from core.fusion.workers import is_live, prune_workers
from core.models.fusion import FusionJob
from core.utils.fusion.exceptions import FusionConfigurationError, WorkerLost
from core.utils.fusion.jobs import JobPolicy, job_payload, policy_for_path, policy_of
from core.utils.fusion.options import EngineOptions

#: Rows handled per relay or recovery round; the rest wait for the next one.
BATCH = 200
_READY, _RUNNING = TaskResultStatus.READY, TaskResultStatus.RUNNING
_FINISHED = [TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED]


class FusionCeleryBackend(FusionEngine, BaseTaskBackend):
    """`settings.TASKS` backend of the broker engine; see the module docstring.

    OPTIONS: `EngineOptions` (`broker_url` required).
    """

    engine_name = "celery"
    jobs = BROKER_JOBS
    supports_defer = True
    supports_async_task = True
    supports_get_result = True
    # Accepted for parity with the database engine; RabbitMQ delivers each
    # queue in order, so priority does not reorder jobs here.
    supports_priority = True

    def __init__(self, alias: str, params: dict[str, Any]) -> None:
        super().__init__(alias, params)
        self.fusion_options = EngineOptions.from_options(alias, self.options)
        if not self.fusion_options.broker_url:
            raise FusionConfigurationError(
                f"settings.TASKS[{alias!r}] uses the broker engine but has no "
                "OPTIONS['broker_url'] (e.g. amqp://user:password@host:5672//)."
            )

    @property
    def link(self) -> BrokerLink:
        """The process's publisher and Celery app for this backend."""
        return broker_link(self.alias, self.fusion_options)

    def _hard_limit(self, policy: JobPolicy) -> float:
        """Celery's hard time limit: the job's limit plus the hard grace."""
        return policy.time_limit_seconds + self.fusion_options.hard_limit_grace_seconds

    # -- django.tasks backend -----------------------------------------------

    def enqueue(self, task: Task, args: Any, kwargs: Any) -> TaskResult:
        """Insert the job (in the caller's transaction) and publish it once
        that commits; a broker failure is logged, never raised."""
        self.validate_task(task)
        payload = job_payload(task, args, kwargs)
        now = timezone.now()
        row = FusionJob.objects.create(
            task_path=task.module_path,
            time_limit_seconds=policy_of(task).time_limit_seconds,
            args_kwargs=payload,
            backend_name=self.alias,
            queue_name=task.queue_name,
            priority=task.priority,
            enqueued_at=now,
            run_after=task.run_after or now,
        )
        if row.run_after <= now:  # deferred jobs are published by the relay
            publish = partial(self._publish_new, str(row.pk), row.queue_name, task)
            transaction.on_commit(
                publish, using=router.db_for_write(FusionJob), robust=True
            )
        result = self.task_result_of(row, task)
        task_enqueued.send(type(self), task_result=result)
        return result

    def _publish_new(self, job_id: str, queue_name: str, task: Task) -> None:
        if self.link.try_publish(job_id, queue_name, self._hard_limit(policy_of(task))):
            # attempts=0: a worker that already ran it (and maybe scheduled a
            # retry, which the relay must publish) is not overwritten.
            FusionJob.objects.filter(
                pk=job_id, attempts=0, published_at__isnull=True
            ).update(published_at=timezone.now())

    def get_result(self, result_id: str) -> TaskResult:
        """The job's current state, read from its row."""
        try:
            row = FusionJob.objects.get(pk=result_id, backend_name=self.alias)
        except (FusionJob.DoesNotExist, ValidationError, ValueError) as exc:
            raise TaskResultDoesNotExist(result_id) from exc
        return self.task_result_of(row)

    def task_result_of(self, row: FusionJob, task: Task | None = None) -> TaskResult:
        """A Django `TaskResult` for `row` (attempts = `row.attempts`; only the
        latest worker's id is kept)."""
        task = task or import_string(row.task_path)
        errors = []
        if row.status == TaskResultStatus.FAILED:
            errors.append(
                TaskError(
                    exception_class_path=row.error_class, traceback=row.error_message
                )
            )
        result: TaskResult[Any, Any] = TaskResult(
            task=task.using(
                priority=row.priority, queue_name=row.queue_name, backend=self.alias
            ),
            id=str(row.pk),
            status=TaskResultStatus(row.status),
            enqueued_at=row.enqueued_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
            last_attempted_at=row.started_at,
            args=row.args_kwargs["args"],
            kwargs=row.args_kwargs["kwargs"],
            backend=self.alias,
            errors=errors,
            worker_ids=[row.worker_id] * row.attempts,
        )
        object.__setattr__(result, "_return_value", row.return_value)
        return result

    # -- worker side --------------------------------------------------------

    def claim(
        self, job_id: str, *, worker_id: str, redelivered: bool
    ) -> FusionJob | None:
        """Mark the job RUNNING for this attempt, or None if it is finished,
        not due, running elsewhere, or unknown. A `redelivered` message (its
        consumer's connection closed before it acknowledged) takes over a
        RUNNING row whose worker is not live: killed, or silent past
        `heartbeat_stale_seconds`; never the job of a slow but live worker.

        On PostgreSQL a first delivery is one statement
        (broker_claims_pg.py); when that finds nothing to start, the
        portable form below decides (it also serves rows enqueued before
        they carried their time limit)."""
        now = timezone.now()
        using = router.db_for_write(FusionJob)
        if not redelivered and connections[using].vendor == "postgresql":
            row = claim_delivered(
                using, job_id=job_id, alias=self.alias, worker_id=worker_id, now=now
            )
            if row is not None:
                return row
        claimable = Q(status=_READY, run_after__lte=now)
        if redelivered:
            stale_seconds = self.fusion_options.heartbeat_stale_seconds
            claimable |= Q(
                ~is_live(OuterRef("worker_id"), stale_seconds), status=_RUNNING
            )
        try:
            row = FusionJob.objects.filter(
                claimable, pk=job_id, backend_name=self.alias
            ).first()
        except (ValidationError, ValueError):
            return None  # not a job id of ours
        if row is None:
            return None
        limit = row.time_limit_seconds
        if limit is None:  # enqueued before rows carried their limit
            limit = policy_for_path(row.task_path).time_limit_seconds
        deadline = now + timedelta(seconds=limit)
        claimed = FusionJob.objects.filter(
            pk=row.pk, status=row.status, attempts=row.attempts
        ).update(
            status=_RUNNING,
            attempts=F("attempts") + 1,
            # It reached a worker, so it was published, whether or not the
            # publisher has recorded that yet.
            published_at=Coalesce("published_at", Value(now)),
            started_at=now,
            deadline_at=deadline,
            worker_id=worker_id[:64],
        )
        if claimed != 1:
            return None
        row.status, row.attempts, row.started_at = _RUNNING, row.attempts + 1, now
        row.deadline_at, row.worker_id = deadline, worker_id[:64]
        return row

    def record_outcome(self, row: FusionJob, outcome: Outcome) -> bool:
        """Store `outcome` of the attempt that claimed `row`; False (and no
        change) if the row has moved on since (recovered meanwhile). When
        stored, `row` (in memory) shows it too, as a re-read would. On
        PostgreSQL a success is one statement (broker_claims_pg.py)."""
        now = timezone.now()
        using = router.db_for_write(FusionJob)
        if outcome.succeeded and connections[using].vendor == "postgresql":
            recorded = record_success(
                using, row=row, return_value=outcome.return_value, now=now
            )
            if recorded:
                _show_outcome(row, outcome, now)
            return recorded
        recorded = record_attempt_outcome(
            # The attempt's token: its number and its worker.
            FusionJob.objects.filter(
                pk=row.pk,
                status=_RUNNING,
                attempts=row.attempts,
                worker_id=row.worker_id,
            ),
            outcome,
            error_columns=lambda error: dict(
                zip(
                    ("error_class", "error_message"), describe_error(error), strict=True
                )
            ),
            cleared_error={"error_class": "", "error_message": ""},
            retry_columns={"published_at": None},  # the relay publishes it again
            dead_letter={
                "job_id": str(row.pk),
                "task_path": row.task_path,
                "backend_name": row.backend_name,
                "queue_name": row.queue_name,
                "args_kwargs": row.args_kwargs,
                "attempts": row.attempts,
                "enqueued_at": row.enqueued_at,
            },
            now=now,
        )
        if recorded:
            _show_outcome(row, outcome, now)
        return recorded

    # -- FusionEngine -------------------------------------------------------

    def relay_unpublished(self) -> int:
        """Publish due jobs that nobody published; stops at the first broker
        error (the next round tries again). Returns how many were published."""
        now = timezone.now()
        grace = timedelta(seconds=self.fusion_options.relay_grace_seconds)
        published: list[Any] = []
        with transaction.atomic():
            rows = list(
                FusionJob.objects.select_for_update(skip_locked=True)
                .filter(
                    backend_name=self.alias,
                    status=_READY,
                    published_at__isnull=True,
                    run_after__lte=now,
                    enqueued_at__lte=now - grace,
                )
                .order_by("run_after")
                .values_list("pk", "queue_name", "task_path")[:BATCH]
            )
            for pk, queue_name, task_path in rows:
                try:
                    self.link.publish(
                        str(pk),
                        queue_name,
                        self._hard_limit(policy_for_path(task_path)),
                    )
                except Exception:  # broker down: keep what was published
                    break
                published.append(pk)
            FusionJob.objects.filter(pk__in=published).update(published_at=now)
        return len(published)

    def republish_stranded(self) -> int:
        """See `FusionEngine.republish_stranded`: READY jobs published and
        due more than `republish_after_seconds` ago. A broker that lost its
        messages (wiped, replaced by an empty node) leaves them waiting for
        good otherwise; when the message was only slow, the second copy
        finds the job taken or done and is dropped (`forget_publications`)."""
        cutoff = timezone.now() - timedelta(
            seconds=self.fusion_options.republish_after_seconds
        )
        return FusionJob.objects.filter(
            backend_name=self.alias,
            status=_READY,
            published_at__lt=cutoff,
            run_after__lt=cutoff,
        ).update(published_at=None)

    def forget_publications(self) -> int:
        """See `FusionEngine.forget_publications`. Harmless when the messages
        were not lost after all: a worker claims a job only while it is READY
        and due (one UPDATE guarded by its status and attempts), so the
        second message of a job finds it taken, or finished, and is dropped."""
        return FusionJob.objects.filter(
            backend_name=self.alias, status=_READY, published_at__isnull=False
        ).update(published_at=None)

    def recover_stale_jobs(self) -> int:
        """See `FusionEngine.recover_stale_jobs`."""
        now = timezone.now()
        grace = timedelta(seconds=self.fusion_options.recovery_grace_seconds)
        stale = FusionJob.objects.filter(
            backend_name=self.alias, status=_RUNNING, deadline_at__lt=now - grace
        ).order_by("deadline_at")[:BATCH]
        recovered = 0
        for row in stale:
            lost = WorkerLost(
                f"Worker {row.worker_id} stopped during attempt {row.attempts} "
                "(killed, crashed, or past the hard time limit)."
            )
            policy = policy_for_path(row.task_path)
            recovered += self.record_outcome(
                row, failure_outcome(lost, row.attempts, policy)
            )
        return recovered

    def recover_jobs_of(self, worker_id: str) -> int:
        """See `FusionEngine.recover_jobs_of`; the relay publishes them."""
        mine = FusionJob.objects.filter(
            backend_name=self.alias, status=_RUNNING, worker_id=worker_id[:64]
        )
        return recover_lost_attempts(
            mine, worker_id, lambda row: row.attempts, self.record_outcome
        )

    def prune_finished(self) -> int:
        """See `FusionEngine.prune_finished`; registrations of workers gone
        that long go too."""
        retention = self.fusion_options.result_retention_seconds
        cutoff = timezone.now() - timedelta(seconds=retention)
        deleted, _ = FusionJob.objects.filter(
            backend_name=self.alias, status__in=_FINISHED, finished_at__lt=cutoff
        ).delete()
        prune_workers(retention)
        return deleted

    def ping(self, timeout: float) -> None:
        """The database answers and the broker accepts a connection."""
        FusionJob.objects.filter(backend_name=self.alias).exists()
        self.link.ping(timeout)

    def run_worker(self, **options: Any) -> None:
        """Run a Celery worker; see `broker_worker.run_celery_worker`."""
        run_celery_worker(self, **options)


def _show_outcome(row: FusionJob, outcome: Outcome, now: datetime) -> None:
    """Set on `row` in memory what `record_outcome` wrote."""
    if outcome.succeeded:
        row.status, row.finished_at = TaskResultStatus.SUCCESSFUL, now
        row.return_value, row.error_class, row.error_message = (
            outcome.return_value,
            "",
            "",
        )
        return
    row.error_class, row.error_message = describe_error(
        outcome.error or RuntimeError("unknown failure")
    )
    if outcome.retry_at is not None:
        row.status, row.run_after = TaskResultStatus.READY, outcome.retry_at
        row.published_at = None
    else:
        row.status, row.finished_at = TaskResultStatus.FAILED, now


def _error_columns(error: BaseException) -> dict[str, str]:
    error_class, error_message = describe_error(error)
    return {"error_class": error_class, "error_message": error_message}
