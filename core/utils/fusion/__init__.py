"""Fusion, the background job queue.

Jobs are `django.tasks` tasks declared with `@job` (retry and time-limit
policy included) and run by `manage.py fusion_worker` on the engine that
settings.TASKS selects: the embedded database engine (django-tasks-db) or
the broker engine (Celery on RabbitMQ). This package is the stateless job
API (declaring jobs, their policy, options and errors) that every layer may
use; the engines, which hold the queue's state, are core/fusion/.
"""

from core.utils.fusion.exceptions import (
    DeadLetterError,
    FusionConfigurationError,
    JobArgumentsError,
    JobTimeLimitExceeded,
    WorkerLost,
)
from core.utils.fusion.jobs import FusionTask, JobPolicy, job, policy_of

__all__ = [
    "DeadLetterError",
    "FusionConfigurationError",
    "FusionTask",
    "JobArgumentsError",
    "JobPolicy",
    "JobTimeLimitExceeded",
    "WorkerLost",
    "job",
    "policy_of",
]
