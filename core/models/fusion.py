"""Fusion's tables: dead letters (both engines) and the broker engine's jobs.

These are infrastructure rows written by the job queue, not lab data, so they
are plain `models.Model`s: no versioning, no hooks, and the queue updates them
in bulk with single conditional UPDATE statements (which BaseModel refuses).
"""

import uuid

from django.db import models
from django.tasks import DEFAULT_TASK_QUEUE_NAME, TaskResultStatus
from django.tasks.base import DEFAULT_TASK_PRIORITY
from django.utils import timezone


class FusionDeadLetter(models.Model):
    """A job that failed `max_attempts` times (or whose code is gone).

    Listed and re-run with `manage.py fusion_dead_letters` or the admin;
    re-running enqueues a fresh job with the same task and arguments and
    sets `retried_at` / `retried_job_id`, so a letter is re-run at most once
    unless forced. A letter not worth re-running is discarded
    (`discarded_at`), not deleted: it stays, with its arguments and error,
    beside the activity entry that says who discarded it and why.
    """

    job_id = models.CharField(max_length=64, db_index=True)
    task_path = models.TextField()
    backend_name = models.CharField(max_length=32)
    queue_name = models.CharField(max_length=32, default=DEFAULT_TASK_QUEUE_NAME)
    args_kwargs = models.JSONField(help_text='{"args": [...], "kwargs": {...}}')
    attempts = models.PositiveIntegerField()
    error_class = models.CharField(max_length=255)
    error_message = models.TextField(
        blank=True, help_text="Bounded; credentials in URLs removed."
    )
    enqueued_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(default=timezone.now, db_index=True)
    retried_at = models.DateTimeField(null=True, blank=True)
    retried_job_id = models.CharField(max_length=64, blank=True)
    discarded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-failed_at", "-id"]
        verbose_name = "Fusion dead letter"
        permissions = [
            ("retry_fusiondeadletter", "Can re-run Fusion dead letters"),
            ("discard_fusiondeadletter", "Can discard Fusion dead letters"),
        ]

    def __str__(self) -> str:
        return f"{self.task_path} ({self.error_class}, {self.attempts} attempts)"


class FusionJob(models.Model):
    """One job of the broker engine (Celery on RabbitMQ): outbox and ledger.

    Written in the enqueuing transaction, so the job exists if and only if
    the data committed; published to the broker after commit
    (`published_at`), and re-published by the relay if the process died
    first. Workers claim it with one conditional UPDATE that counts
    `attempts`, so a job that kills its worker every time still ends as a
    dead letter, and retries wait here (`run_after`) instead of in the broker.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    task_path = models.TextField()
    args_kwargs = models.JSONField()
    backend_name = models.CharField(max_length=32)
    queue_name = models.CharField(max_length=32, default=DEFAULT_TASK_QUEUE_NAME)
    priority = models.IntegerField(default=DEFAULT_TASK_PRIORITY)
    status = models.CharField(
        max_length=10,
        choices=TaskResultStatus.choices,
        default=TaskResultStatus.READY,
    )
    attempts = models.PositiveIntegerField(default=0)
    enqueued_at = models.DateTimeField(default=timezone.now)
    run_after = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    #: started_at + the job's time limit; past it plus a grace period, the
    #: worker must be dead and the job is recovered.
    deadline_at = models.DateTimeField(null=True, blank=True)
    #: The job's time limit when it was enqueued, so that a claim computes
    #: `deadline_at` in its own UPDATE. Empty on jobs enqueued before the
    #: column existed: their claims read the limit from the job's code.
    time_limit_seconds = models.FloatField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    worker_id = models.CharField(max_length=64, blank=True)
    return_value = models.JSONField(null=True, blank=True)
    error_class = models.CharField(max_length=255, blank=True)
    error_message = models.TextField(blank=True)

    class Meta:
        verbose_name = "Fusion job"
        indexes = [
            models.Index(
                fields=["status", "published_at", "run_after"],
                name="fusion_job_relay_idx",
            ),
            models.Index(
                fields=["status", "deadline_at"], name="fusion_job_running_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task_path} [{self.status}] {self.id}"


class FusionWorker(models.Model):
    """A worker process of either engine, and its heartbeat.

    Registered before the worker starts its first job; a thread in the
    worker sets `last_beat_at` (the database's clock) every
    `heartbeat_seconds`. A registration whose beat is older than
    `heartbeat_stale_seconds` belongs to a dead (or frozen) worker: any live
    worker marks it `lost_at` and, in the same transaction, returns its
    RUNNING jobs to their queue (core/fusion/heartbeat.py). A worker that
    finds its own registration lost was presumed dead: whatever it was
    running is another worker's now, and its finish is refused and counted
    in `refused_finishes`.
    """

    id = models.CharField(max_length=64, primary_key=True, help_text="host:pid:random")
    backend_name = models.CharField(max_length=32)
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    last_beat_at = models.DateTimeField(default=timezone.now)
    #: Set by the worker that found this one's heartbeat stale.
    lost_at = models.DateTimeField(null=True, blank=True)
    #: Set by the worker itself when it stops cleanly.
    stopped_at = models.DateTimeField(null=True, blank=True)
    #: Finishes of this worker refused because its attempt had been superseded.
    refused_finishes = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "Fusion worker"
        indexes = [
            models.Index(
                fields=["backend_name", "last_beat_at"],
                name="fusion_worker_beat_idx",
                condition=models.Q(lost_at__isnull=True, stopped_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        state = "lost" if self.lost_at else "stopped" if self.stopped_at else "live"
        return f"{self.id} [{state}]"
