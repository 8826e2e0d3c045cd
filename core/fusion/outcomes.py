"""Storing the outcome of a job's attempt on its row, the same way for every
engine (the database engine's `DBTaskResult`, the broker engine's
`FusionJob`; their columns differ, the rules do not):

- success: SUCCESSFUL, finished now, the return value kept;
- a failure with attempts left: READY again at the retry time;
- a failure for good: FAILED, and a dead letter, in one transaction.

Each write is conditional on the row still being the attempt that ran (the
engine's `this_attempt` queryset), so an attempt recovered meanwhile (its
worker presumed dead, the job run again) changes nothing.
"""

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

from django.db import transaction
from django.db.models import QuerySet
from django.tasks import TaskResultStatus
from django.utils import timezone

from core.fusion.dead_letters import bury
from core.fusion.execution import Outcome, lost_worker_outcome
from core.utils.fusion.jobs import policy_for_path


def record_attempt_outcome(
    this_attempt: QuerySet[Any],
    outcome: Outcome,
    *,
    error_columns: Callable[[BaseException], Mapping[str, Any]],
    cleared_error: Mapping[str, Any],
    retry_columns: Mapping[str, Any],
    dead_letter: Mapping[str, Any],
    now: datetime | None = None,
) -> bool:
    """Store `outcome` on the row `this_attempt` selects; False (and no
    change) if no row matches any more.

    `error_columns(error)` are the engine's columns describing an error,
    `cleared_error` their values after a success, `retry_columns` what else
    a retry resets, and `dead_letter` the job's fields for `bury`. `now`
    (default: the current time) is the finish time written.
    """
    now = now or timezone.now()
    if outcome.succeeded:
        updated = this_attempt.update(
            status=TaskResultStatus.SUCCESSFUL,
            finished_at=now,
            return_value=outcome.return_value,
            **cleared_error,
        )
        return bool(updated == 1)
    error = outcome.error or RuntimeError("unknown failure")
    failure = error_columns(error)
    if outcome.retry_at is not None:
        updated = this_attempt.update(
            status=TaskResultStatus.READY,
            run_after=outcome.retry_at,
            **retry_columns,
            **failure,
        )
        return bool(updated == 1)
    with transaction.atomic():
        failed = this_attempt.update(
            status=TaskResultStatus.FAILED, finished_at=now, **failure
        )
        if failed != 1:
            return False
        bury(**dead_letter, error=error)
    return True


class _Job(Protocol):
    task_path: str


def recover_lost_attempts[Row: _Job](
    rows: Iterable[Row],
    worker_id: str,
    attempts_of: Callable[[Row], int],
    record_outcome: Callable[[Row, Outcome], bool],
) -> int:
    """Record each of `rows` (RUNNING jobs of `worker_id`, presumed dead) as
    a failed attempt, run again at once or buried when out of attempts
    (`lost_worker_outcome`); returns how many were recorded."""
    recovered = 0
    for row in rows:
        policy = policy_for_path(row.task_path)
        outcome = lost_worker_outcome(worker_id, attempts_of(row), policy)
        recovered += record_outcome(row, outcome)
    return recovered
