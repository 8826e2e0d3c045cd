"""Fusion, the background job queue.

Jobs are `django.tasks` tasks declared with `@job` (retry and time-limit
policy included) and run by `manage.py fusion_worker` on the engine that
settings.TASKS selects: the embedded database engine (django-tasks-db) or
the broker engine (Celery on RabbitMQ). `get_client("fusion")` enqueues,
reports health and re-runs dead letters. Models, clients and backends are
imported from their modules, not from here, so that this package can be
imported while Django's apps are still loading.
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
