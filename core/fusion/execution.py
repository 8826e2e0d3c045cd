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
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from traceback import format_exception
from typing import Any

from django.db import connections, transaction
from django.tasks import Task, TaskContext, TaskResult
from django.utils import timezone
from django.utils.json import normalize_json

from core.fusion.time_limit import time_limit
from core.metrics.families import JOB_ATTEMPTS, JOB_SECONDS
from core.utils.fusion.exceptions import JobTimeLimitExceeded, WorkerLost
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
    An `atomic` job's success is stored by `run_attempt` itself, in the
    job's transaction: `recorded` then, or `refused` if its attempt had been
    superseded (and its writes were rolled back); the engine stores neither.
    """

    succeeded: bool
    return_value: Any = None
    error: BaseException | None = None
    retry_at: datetime | None = None
    recorded: bool = False
    refused: bool = False

    @property
    def settled(self) -> bool:
        """Already stored (or refused) by `run_attempt`: nothing to record."""
        return self.recorded or self.refused

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


def lost_worker_outcome(worker_id: str, attempt: int, policy: JobPolicy) -> Outcome:
    """The outcome of attempt `attempt`, whose worker `worker_id` stopped
    beating: run again at once (the worker died, not a service the job
    needs, so no backoff), or a dead letter once `max_attempts` is reached
    (a job that kills its worker every time)."""
    lost = WorkerLost(
        f"Worker {worker_id} stopped beating during attempt {attempt} (killed, "
        "crashed, or frozen) and was presumed dead."
    )
    if attempt >= policy.max_attempts:
        return Outcome(succeeded=False, error=lost)
    return Outcome(succeeded=False, error=lost, retry_at=timezone.now())


#: Stores a success in the job's own transaction (an `atomic` job): True if
#: stored, False if the attempt had been superseded.
RecordSuccess = Callable[[Outcome], bool]


def run_attempt(
    task: Task,
    task_result: TaskResult,
    *,
    hard_grace_seconds: float = 0.0,
    on_hard_limit: Any = None,
    record_success: RecordSuccess | None = None,
) -> Outcome:
    """Run `task` with `task_result`'s arguments; the attempt number is
    `task_result.attempts`. KeyboardInterrupt and SystemExit (the worker is
    being stopped) propagate: the job stays RUNNING and is recovered.

    An `atomic` job runs in a transaction that `record_success` (the
    engine's guarded outcome write) joins, so its writes commit if and only
    if its success is stored (see `Outcome`).

    Each attempt that comes to an outcome is counted and timed, by the
    job's dotted path (core/metrics/families.py)."""
    started = time.perf_counter()
    outcome = _attempt(
        task, task_result, hard_grace_seconds, on_hard_limit, record_success
    )
    job = task.module_path
    JOB_SECONDS.labels(job).observe(time.perf_counter() - started)
    JOB_ATTEMPTS.labels(job, _outcome_label(outcome)).inc()
    return outcome


def _outcome_label(outcome: Outcome) -> str:
    if outcome.refused:
        return "superseded"
    if outcome.succeeded:
        return "succeeded"
    return "dead_letter" if outcome.is_dead else "retry"


def _attempt(
    task: Task,
    task_result: TaskResult,
    hard_grace_seconds: float,
    on_hard_limit: Any,
    record_success: RecordSuccess | None,
) -> Outcome:
    policy = policy_of(task)
    try:
        with time_limit(
            policy.time_limit_seconds,
            hard_grace_seconds=hard_grace_seconds,
            on_hard_limit=on_hard_limit,
        ):
            if policy.atomic and record_success is not None:
                return _run_atomically(task, task_result, record_success)
            value = _call(task, task_result)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:
        if isinstance(exc, JobTimeLimitExceeded):
            _drop_interrupted_connections()
        return failure_outcome(exc, task_result.attempts, policy)
    return Outcome(succeeded=True, return_value=value)


def _call(task: Task, task_result: TaskResult) -> Any:
    args, kwargs = task_result.args, task_result.kwargs
    if task.takes_context:
        value = task.call(TaskContext(task_result=task_result), *args, **kwargs)
    else:
        value = task.call(*args, **kwargs)
    return normalize_json(value)


def _run_atomically(
    task: Task, task_result: TaskResult, record_success: RecordSuccess
) -> Outcome:
    """The job and the record of its success, in one transaction; a refused
    record (the attempt was superseded) rolls the job's writes back."""
    with transaction.atomic():
        outcome = Outcome(succeeded=True, return_value=_call(task, task_result))
        if record_success(outcome):
            return replace(outcome, recorded=True)
        transaction.set_rollback(True)
        return replace(outcome, refused=True)


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
