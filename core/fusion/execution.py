"""Running one attempt of a job, the same way on every engine.

`run_attempt` calls the job under its time limit and says what should happen
next (`Outcome`): done, retry at a time, or dead letter. The engines only
record that in their own table.
"""

import logging
import os
import re
import secrets
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from traceback import format_exception
from typing import Any

from django.db import connections
from django.tasks import Task, TaskContext, TaskResult
from django.utils import timezone
from django.utils.json import normalize_json

from core.fusion.time_limit import time_limit
from core.metrics.families import JOB_ATTEMPTS, JOB_SECONDS
from core.utils.fusion.exceptions import JobTimeLimitExceeded
from core.utils.fusion.jobs import JobPolicy, policy_of

logger = logging.getLogger(__name__)

#: Bounds on what is stored about a failure: enough to diagnose, never a
#: multi-megabyte payload echoed back in an exception.
MAX_ERROR_MESSAGE_CHARS = 2_000
MAX_TRACEBACK_CHARS = 20_000
_URL_CREDENTIALS = re.compile(r"([a-z][a-z0-9+.-]*://)[^/\s@]*@", re.IGNORECASE)


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to.

    `succeeded` with `return_value`; or failed with `error`, and then
    `retry_at` says when to try again (None: the job is a dead letter).
    """

    succeeded: bool
    return_value: Any = None
    error: BaseException | None = None
    retry_at: datetime | None = None

    @property
    def is_dead(self) -> bool:
        """The job failed for good: record it as a dead letter."""
        return not self.succeeded and self.retry_at is None


def failure_outcome(error: BaseException, attempt: int, policy: JobPolicy) -> Outcome:
    """The outcome of failed attempt `attempt`: a retry after the policy's
    backoff, or a dead letter once `max_attempts` is reached."""
    if attempt >= policy.max_attempts:
        return Outcome(succeeded=False, error=error)
    delay = timedelta(seconds=policy.backoff_seconds(attempt))
    return Outcome(succeeded=False, error=error, retry_at=timezone.now() + delay)


def run_attempt(
    task: Task,
    task_result: TaskResult,
    *,
    hard_grace_seconds: float = 0.0,
    on_hard_limit: Any = None,
) -> Outcome:
    """Run `task` with `task_result`'s arguments; the attempt number is
    `task_result.attempts`. KeyboardInterrupt and SystemExit (the worker is
    being stopped) propagate: the job stays RUNNING and is recovered.
    Each attempt that comes to an outcome is counted and timed, by the
    job's dotted path (core/metrics/families.py)."""
    started = time.perf_counter()
    outcome = _attempt(task, task_result, hard_grace_seconds, on_hard_limit)
    job = task.module_path
    JOB_SECONDS.labels(job).observe(time.perf_counter() - started)
    JOB_ATTEMPTS.labels(job, _outcome_label(outcome)).inc()
    return outcome


def _outcome_label(outcome: Outcome) -> str:
    if outcome.succeeded:
        return "succeeded"
    return "dead_letter" if outcome.is_dead else "retry"


def _attempt(
    task: Task, task_result: TaskResult, hard_grace_seconds: float, on_hard_limit: Any
) -> Outcome:
    policy = policy_of(task)
    try:
        with time_limit(
            policy.time_limit_seconds,
            hard_grace_seconds=hard_grace_seconds,
            on_hard_limit=on_hard_limit,
        ):
            args, kwargs = task_result.args, task_result.kwargs
            if task.takes_context:
                value = task.call(TaskContext(task_result=task_result), *args, **kwargs)
            else:
                value = task.call(*args, **kwargs)
            value = normalize_json(value)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:
        if isinstance(exc, JobTimeLimitExceeded):
            _drop_interrupted_connections()
        return failure_outcome(exc, task_result.attempts, policy)
    return Outcome(succeeded=True, return_value=value)


def _drop_interrupted_connections() -> None:
    """A time limit may interrupt a query mid-protocol; start afresh rather
    than reuse a connection in an unknown state (unless a caller's
    transaction still needs it)."""
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()


def describe_error(error: BaseException) -> tuple[str, str]:
    """`(dotted class path, bounded message)` of `error`, with credentials in
    URLs removed. Example: `("redis.exceptions.ConnectionError",
    "Error 111 connecting to redis://***@cache:6379.")`."""
    kind = type(error)
    return f"{kind.__module__}.{kind.__qualname__}", redact(str(error))[
        :MAX_ERROR_MESSAGE_CHARS
    ]


def describe_traceback(error: BaseException) -> str:
    """The bounded, redacted traceback of `error` (its last part if long)."""
    text = redact("".join(format_exception(error)))
    return text[-MAX_TRACEBACK_CHARS:]


def redact(text: str) -> str:
    """`text` with the user and password of any URL replaced by `***`."""
    return _URL_CREDENTIALS.sub(r"\1***@", text)


def worker_identity() -> str:
    """A unique, readable worker id: `host:pid:random` (at most 64 chars)."""
    host = socket.gethostname()[:40]
    return f"{host}:{os.getpid()}:{secrets.token_hex(3)}"
