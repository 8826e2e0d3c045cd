"""Dead letters: jobs that failed for good, kept for an operator to re-run
or discard.

Both engines bury a job here, in the same transaction that marks it FAILED.
`manage.py fusion_dead_letters list|retry|discard`, the admin's dead letter
page and `get_client("fusion")` read, re-run and discard them. Each re-run
and discard writes an activity entry (`core.fusiondeadletter`, no lab: a
job queue's row belongs to no lab) in its transaction, attributed to the
context's actor: the admin user, or the command.
"""

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.tasks import Task, TaskResult
from django.utils import timezone
from django.utils.module_loading import import_string

from core.fusion.execution import describe_error
from core.models.activity_log_base import write_entry
from core.models.fusion import FusionDeadLetter
from core.utils.fusion.exceptions import DeadLetterError


def bury(
    *,
    job_id: str,
    task_path: str,
    backend_name: str,
    queue_name: str,
    args_kwargs: dict[str, Any],
    attempts: int,
    error: BaseException,
    enqueued_at: datetime | None,
) -> FusionDeadLetter:
    """Record a dead letter for a job that failed for good (call it inside
    the transaction that marks the job FAILED)."""
    error_class, error_message = describe_error(error)
    return FusionDeadLetter.objects.create(
        job_id=job_id,
        task_path=task_path,
        backend_name=backend_name,
        queue_name=queue_name,
        args_kwargs=args_kwargs,
        attempts=attempts,
        error_class=error_class,
        error_message=error_message,
        enqueued_at=enqueued_at,
    )


def pending_dead_letters() -> QuerySet[FusionDeadLetter]:
    """Dead letters neither re-run nor discarded yet, newest first."""
    return FusionDeadLetter.objects.filter(
        retried_at__isnull=True, discarded_at__isnull=True
    )


def retry_dead_letter(letter_id: int, *, force: bool = False) -> TaskResult:
    """Enqueue the dead letter's job again, with fresh attempts, and mark the
    letter re-run (both in one transaction, with its activity entry).
    Returns the new job's result.

    A letter already re-run, or discarded, is refused unless `force`:
    re-running it would run an effect twice (or one judged unwanted) on
    purpose.
    """
    with transaction.atomic():
        letter = _locked(letter_id)
        if letter.retried_at is not None and not force:
            raise DeadLetterError(
                f"Dead letter {letter_id} was already re-run at "
                f"{letter.retried_at.isoformat()} as job {letter.retried_job_id}; "
                "pass force to run it once more."
            )
        if letter.discarded_at is not None and not force:
            raise DeadLetterError(
                f"Dead letter {letter_id} was discarded at "
                f"{letter.discarded_at.isoformat()}; pass force to run it anyway."
            )
        task, previous_job = _task_of(letter), letter.retried_job_id or None
        result = task.enqueue(
            *letter.args_kwargs["args"], **letter.args_kwargs["kwargs"]
        )
        letter.retried_at = timezone.now()
        letter.retried_job_id = str(result.id)
        letter.save(update_fields=["retried_at", "retried_job_id"])
        _log(
            letter,
            "retry",
            f"Re-run as job {result.id}{' (forced)' if force else ''}",
            changes={"retried_job_id": {"old": previous_job, "new": str(result.id)}},
        )
    return result


def discard_dead_letter(letter_id: int, *, reason: str = "") -> FusionDeadLetter:
    """Mark the letter discarded: it is no longer pending (readiness stops
    counting it) and is never re-run unless forced. The row is kept, so the
    job, its arguments and its error stay on record beside the activity
    entry that says who discarded it, when and why. A letter already re-run
    or discarded is refused (nothing would change)."""
    with transaction.atomic():
        letter = _locked(letter_id)
        if letter.retried_at is not None or letter.discarded_at is not None:
            done = "re-run" if letter.retried_at else "discarded"
            raise DeadLetterError(
                f"Dead letter {letter_id} was already {done}; there is nothing "
                "to discard."
            )
        letter.discarded_at = timezone.now()
        letter.save(update_fields=["discarded_at"])
        _log(letter, "discard", "Discarded", reason=reason)
    return letter


def _locked(letter_id: int) -> FusionDeadLetter:
    letter = FusionDeadLetter.objects.select_for_update().filter(pk=letter_id).first()
    if letter is None:
        raise DeadLetterError(
            f"There is no dead letter {letter_id}; "
            "`manage.py fusion_dead_letters list` shows them."
        )
    return letter


def _log(
    letter: FusionDeadLetter,
    action: str,
    message: str,
    *,
    changes: dict[str, Any] | None = None,
    reason: str = "",
) -> None:
    write_entry(
        lab_id=None,
        model_label=letter._meta.label_lower,
        instance_id=letter.pk,
        action=action,
        message=f"{message}: {letter}",
        changes=changes or {},
        reason=reason,
    )


def retry_all_dead_letters() -> list[tuple[int, TaskResult]]:
    """Re-run every pending dead letter; returns `[(letter_id, result), ...]`.
    Each letter is re-run in its own transaction, so one whose code is gone
    does not hold back the others (its error is raised after the rest ran)."""
    done: list[tuple[int, TaskResult]] = []
    failures: list[str] = []
    for letter_id in pending_dead_letters().order_by("id").values_list("id", flat=True):
        try:
            done.append((letter_id, retry_dead_letter(letter_id)))
        except DeadLetterError as exc:
            failures.append(str(exc))
    if failures:
        raise DeadLetterError(
            f"Re-ran {len(done)} dead letters; {len(failures)} could not be re-run: "
            + " ".join(failures)
        )
    return done


def _task_of(letter: FusionDeadLetter) -> Task:
    try:
        task = import_string(letter.task_path)
    except ImportError:
        task = None
    if not isinstance(task, Task):
        raise DeadLetterError(
            f"Dead letter {letter.pk}: {letter.task_path} is no longer a job "
            "(renamed or removed?). Restore it, or delete the letter."
        )
    return task.using(backend=letter.backend_name, queue_name=letter.queue_name)
