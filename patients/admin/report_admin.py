"""The admin page of reports.

A report's status changes only through the app's atomic actions
(patients/actions.py): the "Verify", "Release" and "Correct…" admin actions
call them, one report at a time ("Correct…" is also offered on a report's
change page). A released report is edited only with a
reason (BaseModelAdmin's reason field), is never deleted (it stays on record;
a correction replaces it), and its Timeline page (`<id>/timeline/`) shows
what happened to it and its editions on its lab's clock, with their stored
PDFs to download, or that a PDF is waiting for the job worker.
"""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import ActionLocation
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from core.admin import BaseModelAdmin, BaseModelForm
from core.admin.change_display import reader_lab_ids
from core.utils.date import format_lab_clock
from patients.actions import release_report, verify_report
from patients.admin.correction import correct_reports
from patients.models import Report
from patients.timeline import PDF_LINK_EXPIRY_SECONDS, report_timeline, report_zone

#: The shape of a report's results, shown under the Results box.
RESULTS_HELP = (
    "A list with one entry per test, written as JSON, for example: "
    '[{"test": "Haemoglobin", "value": 13.5, "unit": "g/dL", "low": 12, '
    '"high": 16, "critical_low": 7, "critical_high": 20}]. '
    '"test" and "value" are required; "unit" is text; "low", "high", '
    '"critical_low" and "critical_high" are optional numbers. A value outside '
    "its critical bounds marks the report critical."
)


class ReportForm(BaseModelForm):
    """The report form: the Results box says what it holds."""

    class Meta:
        help_texts = {"results": RESULTS_HELP}
        widgets = {
            "results": forms.Textarea(
                attrs={"rows": 8, "cols": 80, "style": "font-family: monospace"}
            )
        }


@admin.register(Report)
class ReportAdmin(BaseModelAdmin):
    """Reports: see the module docstring."""

    form = ReportForm
    list_display = ("title", "patient", "lab", "status", "edition", "released_at")
    list_filter = ("status", "lab")
    list_select_related = ("patient", "lab")
    search_fields = ("title",)
    actions = ("verify_reports", "release_reports", "correct_reports")

    def get_readonly_fields(
        self, request: HttpRequest, obj: Any = None
    ) -> tuple[str, ...]:
        """The status and the edition links are set by the state changes."""
        return (
            *super().get_readonly_fields(request, obj),
            "status",
            "edition",
            "previous",
            "released_at",
        )

    def deletion_refusal(self, request: HttpRequest, obj: Any) -> str | None:
        """A released (or corrected) report stays on record."""
        if obj.status in (Report.Status.RELEASED, Report.Status.CORRECTED):
            return (
                f"“{obj}” cannot be deleted: it has been released, and a "
                "released report stays on record. To replace it, select it in "
                "the list and use “Correct…”, which issues a new edition."
            )
        return None

    def get_urls(self) -> list[URLPattern]:
        """The admin's URLs plus `<id>/timeline/` (before the admin's own,
        whose catch-all would take it)."""
        timeline = path(
            "<path:object_id>/timeline/",
            self.admin_site.admin_view(self.timeline_view),
            name=f"{self.opts.app_label}_{self.opts.model_name}_timeline",
        )
        return [timeline, *super().get_urls()]

    def timeline_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """One report's timeline: its editions' activity entries, webhook
        deliveries and stored (or waiting) PDFs, oldest first, on its lab's
        clock. Staff who may view or change reports see it."""
        report = self.get_object(request, unquote(object_id))
        if report is None:
            self.message_user(
                request,
                f"No report has ID {unquote(object_id)!r}; perhaps it was deleted.",
                messages.WARNING,
            )
            return HttpResponseRedirect(reverse("admin:patients_report_changelist"))
        if not self.has_view_or_change_permission(request, report):
            raise PermissionDenied
        zone = report_zone(report)
        items = report_timeline(report, lab_ids=reader_lab_ids(request))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Timeline: {report}",
            "opts": self.opts,
            "object": report,
            "zone_name": zone.key,
            "rows": [(format_lab_clock(item.at, zone), item) for item in items],
            "link_expiry_minutes": PDF_LINK_EXPIRY_SECONDS // 60,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/patients/report/timeline.html", context)

    @admin.action(description="Verify the selected reports", permissions=["change"])
    def verify_reports(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        """Verify each selected draft (`verify_report`)."""
        self._change_each(request, queryset, verify_report, "verified")

    @admin.action(description="Release the selected reports", permissions=["change"])
    def release_reports(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        """Release each selected verified report (`release_report`, which
        queues the PDF, Pusher, webhook and Slack steps after commit)."""
        self._change_each(request, queryset, release_report, "released")

    @admin.action(
        description="Correct…",
        permissions=["change"],
        location=[ActionLocation.CHANGE_LIST, ActionLocation.CHANGE_FORM],
    )
    def correct_reports(
        self, request: HttpRequest, queryset: QuerySet[Report]
    ) -> HttpResponse | None:
        """Ask for the reason, then correct each selected released report
        (`correct_report`); see patients/admin/correction.py."""
        return correct_reports(self, request, queryset)

    def _change_each(
        self,
        request: HttpRequest,
        queryset: QuerySet[Report],
        change: Callable[[Report], object],
        done: str,
    ) -> None:
        """Apply the atomic action `change` to each report; a report it does
        not fit is reported with the model's reason, and the others still
        change (each report is its own action: one refused leaves the others
        as they are, and is left as it was)."""
        changed = 0
        for report in queryset.order_by("id"):
            try:
                change(report)
            except ValidationError as exc:
                self.message_user(
                    request,
                    f"{report} was not {done}: {' '.join(exc.messages)}",
                    messages.ERROR,
                )
            else:
                changed += 1
        self.message_user(request, f"{changed} report(s) {done}.")
