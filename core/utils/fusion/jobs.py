"""Fusion jobs: Django `Task`s that carry their own retry and time-limit policy.

    from core.utils.fusion import job

    @job(max_attempts=5, time_limit_seconds=30)
    def ship_activity_log(log_id: int) -> None:
        log = ActivityLog.objects.get(pk=log_id)  # re-read: jobs are idempotent
        ...

    ship_activity_log.enqueue(log.pk)  # or get_client("fusion").enqueue(...)

A job is a plain module-level function taking JSON values (primary keys, not
model instances), so it can run twice without harm and on any engine. Every
attempt runs under a time limit; a failed attempt is retried after an
exponential backoff; after `max_attempts` the job becomes a dead letter.
"""

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, overload

from django.tasks import DEFAULT_TASK_BACKEND_ALIAS, DEFAULT_TASK_QUEUE_NAME, Task
from django.tasks.base import DEFAULT_TASK_PRIORITY
from django.utils.json import normalize_json
from django.utils.module_loading import import_string

from core.utils.fusion.exceptions import JobArgumentsError

DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_BACKOFF_BASE_SECONDS = 2.0
#: Ten minutes: long enough to ride out a service restart, short enough that a
#: fixed outage is noticed the same hour.
DEFAULT_BACKOFF_CAP_SECONDS = 600.0
DEFAULT_TIME_LIMIT_SECONDS = 60.0


@dataclass(frozen=True)
class JobPolicy:
    """How a job is retried and bounded.

    Attempt `n` (1-based) that fails is retried after
    `backoff_seconds(n)`; the attempt numbered `max_attempts` that fails
    makes the job a dead letter. Each attempt may run `time_limit_seconds`.
    An `atomic` job runs in one database transaction that also records its
    success: its writes commit exactly when its outcome does, so an attempt
    superseded meanwhile (its worker presumed dead, the job given to another)
    rolls them back instead (core/fusion/heartbeat.py).
    """

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    backoff_base_seconds: float = DEFAULT_BACKOFF_BASE_SECONDS
    backoff_cap_seconds: float = DEFAULT_BACKOFF_CAP_SECONDS
    time_limit_seconds: float = DEFAULT_TIME_LIMIT_SECONDS
    atomic: bool = False

    def __post_init__(self) -> None:
        problems = []
        if int(self.max_attempts) != self.max_attempts or self.max_attempts < 1:
            problems.append(f"max_attempts={self.max_attempts!r} (a whole number >= 1)")
        if self.backoff_base_seconds < 0:
            problems.append(
                f"backoff_base_seconds={self.backoff_base_seconds!r} (>= 0)"
            )
        if self.backoff_cap_seconds < self.backoff_base_seconds:
            problems.append(
                f"backoff_cap_seconds={self.backoff_cap_seconds!r} "
                "(>= backoff_base_seconds)"
            )
        if self.time_limit_seconds <= 0:
            problems.append(f"time_limit_seconds={self.time_limit_seconds!r} (> 0)")
        if problems:
            raise ValueError("Invalid job policy: " + "; ".join(problems) + ".")

    def backoff_seconds(self, attempt: int) -> float:
        """Seconds to wait after failed attempt `attempt` (1-based).

        `min(cap, base * 2 ** (attempt - 1))`, with "equal jitter": a random
        point in the upper half of that, so retries of many jobs that failed
        together spread out, and the wait never exceeds the cap.
        Example (base 2, cap 600): attempt 1 -> 1..2 s, 3 -> 4..8 s, 12 -> 300..600 s.
        """
        ceiling = min(
            self.backoff_cap_seconds,
            self.backoff_base_seconds * 2 ** min(max(attempt - 1, 0), 62),
        )
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - not crypto


DEFAULT_POLICY = JobPolicy()


@dataclass(frozen=True, slots=True, kw_only=True)
class FusionTask[**P, R](Task):
    """A Django `Task` with a retry and time-limit policy (see `JobPolicy`).

    It is a real `django.tasks.Task`: `.enqueue()`, `.using()`, `.call()` and
    every backend work as usual. Unlike `Task`, creating one does not look up
    the backend (that would read settings at import time); the backend
    validates the task when it is enqueued.
    """

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    backoff_base_seconds: float = DEFAULT_BACKOFF_BASE_SECONDS
    backoff_cap_seconds: float = DEFAULT_BACKOFF_CAP_SECONDS
    time_limit_seconds: float = DEFAULT_TIME_LIMIT_SECONDS
    atomic: bool = False

    def __post_init__(self) -> None:
        _ = self.policy  # building the policy validates the numbers (ValueError)

    @property
    def policy(self) -> JobPolicy:
        """This task's `JobPolicy`."""
        return JobPolicy(
            max_attempts=self.max_attempts,
            backoff_base_seconds=self.backoff_base_seconds,
            backoff_cap_seconds=self.backoff_cap_seconds,
            time_limit_seconds=self.time_limit_seconds,
            atomic=self.atomic,
        )


def policy_of(task: Task) -> JobPolicy:
    """The policy of `task`: its own for a `FusionTask`, the default for a
    plain `django.tasks.task` (which Fusion's workers run just the same)."""
    if isinstance(task, FusionTask):
        return task.policy
    return DEFAULT_POLICY


def policy_for_path(task_path: str) -> JobPolicy:
    """The policy of the job at `task_path`, or the default one if that code
    is gone (the job can then only be recovered to a dead letter)."""
    try:
        task = import_string(task_path)
    except ImportError:
        return DEFAULT_POLICY
    return policy_of(task) if isinstance(task, Task) else DEFAULT_POLICY


@overload
def job[**P, R](function: Callable[P, R], /) -> FusionTask[P, R]: ...
@overload
def job[**P, R](
    *,
    max_attempts: int = ...,
    backoff_base_seconds: float = ...,
    backoff_cap_seconds: float = ...,
    time_limit_seconds: float = ...,
    atomic: bool = ...,
    priority: int = ...,
    queue_name: str = ...,
    backend: str = ...,
    takes_context: bool = ...,
) -> Callable[[Callable[P, R]], FusionTask[P, R]]: ...
def job(
    function: Callable[..., Any] | None = None,
    /,
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    backoff_base_seconds: float = DEFAULT_BACKOFF_BASE_SECONDS,
    backoff_cap_seconds: float = DEFAULT_BACKOFF_CAP_SECONDS,
    time_limit_seconds: float = DEFAULT_TIME_LIMIT_SECONDS,
    atomic: bool = False,
    priority: int = DEFAULT_TASK_PRIORITY,
    queue_name: str = DEFAULT_TASK_QUEUE_NAME,
    backend: str = DEFAULT_TASK_BACKEND_ALIAS,
    takes_context: bool = False,
) -> Any:
    """Decorate a module-level function as a Fusion job (a `FusionTask`).

    Use bare (`@job`) or with options (`@job(max_attempts=3)`); see the
    module docstring. The function must stay importable at its module path:
    workers find it there by name.
    """

    def wrap(func: Callable[..., Any]) -> FusionTask[Any, Any]:
        return FusionTask(
            func=func,
            priority=priority,
            queue_name=queue_name,
            backend=backend,
            takes_context=takes_context,
            max_attempts=max_attempts,
            backoff_base_seconds=backoff_base_seconds,
            backoff_cap_seconds=backoff_cap_seconds,
            time_limit_seconds=time_limit_seconds,
            atomic=atomic,
        )

    return wrap(function) if function is not None else wrap


def job_payload(
    task: Task,
    args: Sequence[Any],
    kwargs: dict[str, Any],
) -> dict[str, Any]:
    """`{"args": [...], "kwargs": {...}}` as stored with a job, or a
    `JobArgumentsError` naming the job and saying what to pass instead."""
    try:
        return {"args": normalize_json(list(args)), "kwargs": normalize_json(kwargs)}
    except (TypeError, ValueError) as exc:
        raise JobArgumentsError(
            f"Job {task.module_path} was given an argument that is not a JSON "
            f"value ({exc}). Pass primary keys, strings, numbers, booleans, "
            "None, lists and dicts; jobs re-read rows themselves."
        ) from None
