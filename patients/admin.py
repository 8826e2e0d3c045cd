"""Admin pages for patients and their reports.

The phone and email are encrypted, so the database cannot search them; a
search term is also looked up through their blind indexes (computed under
every lab, as each lab's rows hold that lab's own): as a phone number (read
as a local number of every lab's country when it has no country code) and as
an email address.

A report's status changes only through the app's atomic actions
(patients/actions.py; the "Verify" and "Release" admin actions call them,
one report at a time); its Timeline page (`<id>/timeline/`) shows what happened
to it and its editions, with their stored PDFs to download.
"""

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from admin.account.models import Lab
from core.admin import BaseModelAdmin
from patients.actions import release_report, verify_report
from patients.models import Patient, PatientQuerySet, Report
from patients.timeline import PDF_LINK_EXPIRY_SECONDS, report_timeline


@admin.register(Patient)
class PatientAdmin(BaseModelAdmin):
    list_display = ("__str__", "lab", "sex", "date_of_birth", "phone_number")
    list_filter = ("lab", "sex")
    list_select_related = ("lab",)
    search_fields = ("first_name", "last_name")

    @admin.display(description="phone")
    def phone_number(self, patient: Patient) -> str:
        """The decrypted phone (not sortable: the column holds ciphertext)."""
        return patient.phone

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        """Name matches, plus exact phone or email matches by blind index."""
        found, may_have_duplicates = super().get_search_results(
            request, queryset, search_term
        )
        term = search_term.strip()
        if not term:
            return found, may_have_duplicates
        patients: PatientQuerySet = queryset  # type: ignore[assignment]
        countries = Lab.objects.values_list("country", flat=True).distinct()
        # Operators search every lab; each lab's rows hold that lab's index.
        lab_ids = list(Lab.objects.values_list("pk", flat=True))
        by_contact = patients.with_phone(term, countries, lab_ids)
        if "@" in term:
            by_contact = by_contact | patients.with_email(term, lab_ids)
        return found | by_contact, may_have_duplicates


@admin.register(Report)
class ReportAdmin(BaseModelAdmin):
    """Reports: edited here while draft; the status moves only through the
    "Verify" and "Release" actions (patients/actions.py's `verify_report`
    and `release_report`), and each report has a Timeline page
    (patients/timeline.py), linked from its change page."""

    list_display = ("title", "patient", "lab", "status", "edition", "released_at")
    list_filter = ("status", "lab")
    list_select_related = ("patient", "lab")
    search_fields = ("title",)
    actions = ("verify_reports", "release_reports")

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
        deliveries and stored PDFs (with download links), oldest first.
        Staff who may view or change reports see it."""
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
        context = {
            **self.admin_site.each_context(request),
            "title": f"Timeline: {report}",
            "opts": self.opts,
            "object": report,
            "items": report_timeline(report),
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
