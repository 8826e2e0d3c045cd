"""A known mix of jobs on the active engine's queues, for the tests of what
operators read (`fusion_status`, the admin's job pages, readiness).

Jobs are enqueued through the real API; the states no worker reached in the
test (running, successful, failed) are then set on the engine's own rows,
and the dead letter is buried as an engine buries one.

| queue   | ready | scheduled | running | successful | failed | dead letters |
|---------|-------|-----------|---------|------------|--------|--------------|
| default | 2     | 1         | 0       | 0          | 0      | 0            |
| held    | 1     | 0         | 1       | 0          | 0      | 0            |
| spare   | 0     | 0         | 0       | 1          | 1      | 1            |
"""

import datetime as dt
from dataclasses import dataclass

from django.tasks import TaskResultStatus, task_backends
from django.utils import timezone

from core.fusion.dead_letters import bury
from core.models.fusion import FusionDeadLetter
from tests.core.fusion.jobs import record

#: The table above, as `QueueStatus` fields per queue.
COUNTED = ("ready", "scheduled", "running", "successful", "failed", "dead_letters")
EXPECTED = {
    "default": dict(zip(COUNTED, (2, 1, 0, 0, 0, 0), strict=True)),
    "held": dict(zip(COUNTED, (1, 0, 1, 0, 0, 0), strict=True)),
    "spare": dict(zip(COUNTED, (0, 0, 0, 1, 1, 1), strict=True)),
}


@dataclass(frozen=True)
class QueueMix:
    """The ids of the mix's jobs, by what became of them."""

    ready: list[str]
    scheduled: str
    running: str
    successful: str
    failed: str
    letter: FusionDeadLetter


def fill_queues(job_file: str) -> QueueMix:
    """Enqueue the module docstring's jobs on the configured engine."""
    later = timezone.now() + dt.timedelta(hours=1)
    ready = [record.enqueue(job_file, "a").id, record.enqueue(job_file, "b").id]
    scheduled = record.using(run_after=later).enqueue(job_file, "later").id
    held = record.using(queue_name="held")
    ready.append(held.enqueue(job_file, "c").id)
    running = held.enqueue(job_file, "d").id
    spare = record.using(queue_name="spare")
    successful = spare.enqueue(job_file, "e").id
    failed = spare.enqueue(job_file, "f").id
    rows = task_backends["default"].jobs.model._default_manager
    now = timezone.now()
    rows.filter(pk=running).update(status=TaskResultStatus.RUNNING, started_at=now)
    rows.filter(pk=successful).update(
        status=TaskResultStatus.SUCCESSFUL, finished_at=now
    )
    rows.filter(pk=failed).update(status=TaskResultStatus.FAILED, finished_at=now)
    letter = bury(
        job_id=str(failed),
        task_path=record.module_path,
        backend_name="default",
        queue_name="spare",
        args_kwargs={"args": [job_file, "f"], "kwargs": {}},
        attempts=3,
        error=TimeoutError("the service did not answer in time"),
        enqueued_at=now,
    )
    return QueueMix(ready, scheduled, running, successful, failed, letter)
