"""The admin's job pages: each Fusion engine's jobs, read-only, filtered by
state and queue, with their age, attempts and last error, and above the
list the active engine's jobs by state and queue (the numbers of
`get_client("fusion").status()`, as `manage.py fusion_status` prints them).

The database engine's jobs are django-tasks-db's rows: its own admin page is
replaced by this one. The broker engine's are FusionJob rows. Both pages are
registered whichever engine is active (a table may still hold an earlier
engine's jobs); the summary says which one is.
"""

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django_tasks_db.admin import DBTaskResultAdmin
from django_tasks_db.models import DBTaskResult, get_date_max

from core.admin.read_only import ReadOnlyAdminMixin
from core.fusion.status import BROKER_JOBS, DATABASE_JOBS, JobTable
from core.models.fusion import FusionJob
from core.utils.clients import get_client
from core.utils.fusion.exceptions import FusionConfigurationError
from core.utils.fusion.queue_status import STATES

#: Characters of a job's last error shown in the list.
LAST_ERROR_CHARS = 160


def format_age(seconds: float) -> str:
    """A duration as an operator reads it: "42 s", "5 min", "3.5 h", "2.0 d"."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def bounded(text: str, limit: int = LAST_ERROR_CHARS) -> str:
    """`text` on one line, cut to `limit` characters (with "…")."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


class JobStateFilter(admin.SimpleListFilter):
    """ready (a worker may take it now), scheduled (waiting for its retry
    time), running, successful, failed: the states the summary counts."""

    title = "state"
    parameter_name = "state"
    table: JobTable

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        """The five states."""
        return [(state, state) for state in STATES]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        """The jobs in the chosen state."""
        now, state = timezone.now(), self.value()
        if state == "ready":
            return queryset.filter(self.table.due(now))
        if state == "scheduled":
            return queryset.filter(self.table.scheduled(now))
        if state in ("running", "successful", "failed"):
            return queryset.filter(status=state.upper())
        return queryset


class DatabaseJobStateFilter(JobStateFilter):
    """The database engine's states."""

    table = DATABASE_JOBS


class BrokerJobStateFilter(JobStateFilter):
    """The broker engine's states."""

    table = BROKER_JOBS


class FusionJobPageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[Any]):
    """Read-only job pages with the jobs-by-state-and-queue summary above the list.

    Subclasses set `table` (the engine's JobTable) and say how to read a
    row's attempts and last error.
    """

    table: JobTable
    change_list_template = "admin/core/fusion_job_change_list.html"
    list_display = (
        "id",
        "task_path",
        "queue_name",
        "state",
        "age",
        "attempts",
        "last_error",
        "enqueued_at",
    )
    ordering = ["-enqueued_at"]

    @admin.display(description="age")
    def age(self, row: Any) -> str:
        """Since the job was enqueued."""
        return format_age((timezone.now() - row.enqueued_at).total_seconds())

    @admin.display(description="state")
    def state(self, row: Any) -> str:
        """The row's status, with "scheduled" for a READY one not due yet
        (as `JobTable.due` tells them; django-tasks-db's "no time" is the
        far future)."""
        waiting = row.run_after > timezone.now() and row.run_after != get_date_max()
        if row.status == "READY" and waiting:
            return "scheduled"
        return str(row.status).lower()

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """The list, with the active engine's summary above it."""
        context = {**(extra_context or {}), **summary_context(self.table.model)}
        return super().changelist_view(request, context)


def summary_context(model: type[Model]) -> dict[str, Any]:
    """What the summary shows: the active engine's status when its jobs are
    `model`'s rows, else a note naming the active engine."""
    try:
        engine = get_client("fusion").engine()
    except FusionConfigurationError as exc:
        return {"fusion_note": str(exc)}
    if engine.jobs.model is not model:
        return {
            "fusion_note": f"The active engine is {engine.engine_name} "
            f"(backend {engine.alias!r}); these rows are another engine's."
        }
    status = engine.status(include_finished=True)
    return {
        "fusion_status": status,
        "fusion_over_limits": status.limits_exceeded(
            max_ready=settings.HEALTH_CHECK_BACKLOG_MAX_READY_JOBS,
            max_age_seconds=settings.HEALTH_CHECK_BACKLOG_MAX_AGE_SECONDS,
        ),
    }


admin.site.unregister(DBTaskResult)


@admin.register(DBTaskResult)
class DatabaseJobAdmin(FusionJobPageAdmin, DBTaskResultAdmin):
    """The database engine's jobs (django-tasks-db's rows); django-tasks-db's
    own detail page, with Fusion's list."""

    table = DATABASE_JOBS

    def get_list_filter(self, request: HttpRequest) -> list[Any]:
        """Fusion's states (ready and scheduled apart), queue, backend."""
        return [DatabaseJobStateFilter, "queue_name", "backend_name"]

    @admin.display(description="attempts")
    def attempts(self, row: DBTaskResult) -> int:
        """One per claim by a worker."""
        return len(row.worker_ids)

    @admin.display(description="last error")
    def last_error(self, row: DBTaskResult) -> str:
        """The last failed attempt's error class and last traceback line."""
        if not row.exception_class_path:
            return ""
        lines = row.traceback.strip().splitlines()
        return bounded(lines[-1] if lines else row.exception_class_path)


@admin.register(FusionJob)
class BrokerJobAdmin(FusionJobPageAdmin):
    """The broker engine's jobs (FusionJob rows), read-only."""

    table = BROKER_JOBS
    list_filter = (BrokerJobStateFilter, "queue_name", "backend_name")

    @admin.display(description="last error")
    def last_error(self, row: FusionJob) -> str:
        """The last failed attempt's error class and message."""
        if not row.error_class:
            return ""
        return bounded(f"{row.error_class}: {row.error_message}")
