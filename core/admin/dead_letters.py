"""The admin's dead letters: jobs that failed for good, read-only, with
"re-run", "re-run even if re-run before" and "discard" actions and each
letter's History (its activity entries).

The actions call what `manage.py fusion_dead_letters` calls
(core/fusion/dead_letters.py): the same refusals (a letter already re-run
or discarded is re-run only when forced), and each re-run or discard
writes an activity entry, attributed to the signed-in user. They take the
model's own permissions, `core.retry_fusiondeadletter` and
`core.discard_fusiondeadletter` (a superuser has both): viewing the list
does not let anyone run jobs again.

Discarding marks the letter (`discarded_at`) and keeps it, rather than
deleting it: the job, its arguments and its error stay on record beside
the entry saying who discarded it, so an inspector can still see what was
given up. Letters are never deleted here.
"""

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from core.admin.fusion_jobs import bounded
from core.admin.history import history_response
from core.admin.read_only import ReadOnlyAdminMixin
from core.models.fusion import FusionDeadLetter
from core.utils.clients import get_client
from core.utils.fusion.exceptions import DeadLetterError

#: The activity entry's reason for a discard made here.
DISCARD_REASON = "Discarded in the admin"


class LetterStateFilter(admin.SimpleListFilter):
    """pending (waiting for an operator), re-run, discarded."""

    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        """The three states."""
        return [
            ("pending", "pending"),
            ("retried", "re-run"),
            ("discarded", "discarded"),
        ]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[FusionDeadLetter]
    ) -> QuerySet[FusionDeadLetter]:
        """The letters in the chosen state."""
        if self.value() == "pending":
            return queryset.filter(retried_at__isnull=True, discarded_at__isnull=True)
        if self.value() == "retried":
            return queryset.filter(retried_at__isnull=False)
        if self.value() == "discarded":
            return queryset.filter(discarded_at__isnull=False)
        return queryset


@admin.register(FusionDeadLetter)
class FusionDeadLetterAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[FusionDeadLetter]):
    """Dead letters, newest first; see the module docstring."""

    list_display = (
        "id",
        "failed_at",
        "task_path",
        "queue_name",
        "attempts",
        "last_error",
        "state",
    )
    list_filter = (LetterStateFilter, "queue_name", "backend_name")
    search_fields = ("task_path", "job_id", "error_class")
    actions = ("retry_letters", "retry_letters_forced", "discard_letters")

    def has_retry_permission(self, request: HttpRequest) -> bool:
        """Re-running runs a job's effects again."""
        return bool(request.user.has_perm("core.retry_fusiondeadletter"))

    def has_discard_permission(self, request: HttpRequest) -> bool:
        """Discarding gives a job's effects up."""
        return bool(request.user.has_perm("core.discard_fusiondeadletter"))

    @admin.display(description="last error")
    def last_error(self, letter: FusionDeadLetter) -> str:
        """The error class and message, bounded."""
        return bounded(f"{letter.error_class}: {letter.error_message}")

    @admin.display(description="state")
    def state(self, letter: FusionDeadLetter) -> str:
        """pending, re-run (as which job) or discarded."""
        if letter.retried_at is not None:
            return f"re-run as {letter.retried_job_id}"
        if letter.discarded_at is not None:
            return "discarded"
        return "pending"

    @admin.action(description="Re-run the selected dead letters", permissions=["retry"])
    def retry_letters(
        self, request: HttpRequest, queryset: QuerySet[FusionDeadLetter]
    ) -> None:
        """Re-run each letter not re-run or discarded before."""
        self._each(
            request,
            queryset,
            "re-run",
            lambda pk: _retry(pk, force=False),
            hint=" (here: the action that re-runs them even if re-run or discarded)",
        )

    @admin.action(
        description="Re-run the selected dead letters, even if re-run or discarded",
        permissions=["retry"],
    )
    def retry_letters_forced(
        self, request: HttpRequest, queryset: QuerySet[FusionDeadLetter]
    ) -> None:
        """Re-run each letter whatever was done with it before."""
        self._each(request, queryset, "re-run", lambda pk: _retry(pk, force=True))

    @admin.action(
        description="Discard the selected dead letters", permissions=["discard"]
    )
    def discard_letters(
        self, request: HttpRequest, queryset: QuerySet[FusionDeadLetter]
    ) -> None:
        """Mark each letter discarded (kept, never re-run unless forced)."""
        fusion = get_client("fusion")
        self._each(
            request,
            queryset,
            "discarded",
            lambda pk: fusion.discard_dead_letter(pk, reason=DISCARD_REASON),
        )

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: Any = None
    ) -> TemplateResponse:
        """The letter's activity entries (re-runs and discards)."""
        return history_response(self, request, object_id, extra_context)

    def _each(
        self,
        request: HttpRequest,
        queryset: QuerySet[FusionDeadLetter],
        done: str,
        act: Callable[[int], Any],
        *,
        hint: str = "",
    ) -> None:
        """`act` on each letter; a refused one is a warning, not an error."""
        count = 0
        for letter_id in queryset.order_by("id").values_list("id", flat=True):
            try:
                act(letter_id)
            except DeadLetterError as exc:
                self.message_user(request, f"{exc}{hint}", messages.WARNING)
                continue
            count += 1
        self.message_user(request, f"{count} dead letter(s) {done}.")


def _retry(letter_id: int, *, force: bool) -> Any:
    return get_client("fusion").retry_dead_letter(letter_id, force=force)
