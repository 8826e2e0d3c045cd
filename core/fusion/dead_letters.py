"""Dead letters: jobs that failed for good, kept for an operator to re-run.

Both engines bury a job here, in the same transaction that marks it FAILED.
`manage.py fusion_dead_letters list|retry ID...|retry --all` and
`get_client("fusion")` read and re-run them.
"""

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.tasks import Task, TaskResult
from django.utils import timezone
from django.utils.module_loading import import_string

from core.fusion.execution import describe_error
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
    """Dead letters not yet re-run, newest first."""
    return FusionDeadLetter.objects.filter(retried_at__isnull=True)


def retry_dead_letter(letter_id: int, *, force: bool = False) -> TaskResult:
    """Enqueue the dead letter's job again, with fresh attempts, and mark the
    letter re-run (both in one transaction). Returns the new job's result.

    A letter already re-run is refused unless `force`: re-running it twice
    would run an effect twice on purpose.
    """
    with transaction.atomic():
        letter = (
            FusionDeadLetter.objects.select_for_update().filter(pk=letter_id).first()
        )
        if letter is None:
            raise DeadLetterError(
                f"There is no dead letter {letter_id}; "
                "`manage.py fusion_dead_letters list` shows them."
            )
        if letter.retried_at is not None and not force:
            raise DeadLetterError(
                f"Dead letter {letter_id} was already re-run at "
                f"{letter.retried_at.isoformat()} as job {letter.retried_job_id}; "
                "pass force to run it once more."
            )
        task = _task_of(letter)
        result = task.enqueue(
            *letter.args_kwargs["args"], **letter.args_kwargs["kwargs"]
        )
        letter.retried_at = timezone.now()
        letter.retried_job_id = str(result.id)
        letter.save(update_fields=["retried_at", "retried_job_id"])
    return result


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
