"""The reports admin's "Correct…" action: a page asking why, then
`correct_report` for each selected released report. Offered on the list
and on a report's change page; the page posts back to where it came from.

Invariants:

- Nothing changes until a reason is given: the first call of the action
  (from the list) and a post without a reason show the page again.
- The corrections commit together (`correct_each` is one transaction),
  and each is its own savepoint (`correct_report` is atomic): a report that
  cannot be corrected (not released) is reported in plain words and left
  as it was, and the others are still corrected.
- Each corrected report gets a message linking to its new draft edition.
"""

from typing import TYPE_CHECKING

from django import forms
from django.contrib import messages
from django.contrib.admin import helpers
from django.contrib.admin.options import ActionLocation
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from patients.actions import correct_report
from patients.models import Report

if TYPE_CHECKING:
    from patients.admin.report_admin import ReportAdmin

#: The name of the confirming button (the list's first post has none).
APPLY = "apply"
#: The action's field as the change page's action form names it (Django
#: prefixes it with the location); the list's is plain "action".
CHANGE_FORM_ACTION_FIELD = f"{ActionLocation.CHANGE_FORM.value}-action"


class CorrectionForm(forms.Form):
    """The reason for a correction, kept on both editions' History."""

    reason = forms.CharField(
        label="Why are these reports corrected?",
        widget=forms.Textarea(attrs={"rows": 3, "cols": 70}),
        help_text="Kept in each report's History. Each report is marked "
        "corrected and a new draft edition with the same results is made, to "
        "edit, verify and release.",
    )


def correct_reports(
    model_admin: "ReportAdmin", request: HttpRequest, queryset: QuerySet[Report]
) -> HttpResponse | None:
    """The action: the reason page, or (with a reason) the corrections and
    back to the list (None)."""
    form = CorrectionForm(request.POST if APPLY in request.POST else None)
    if form.is_valid():
        correct_each(model_admin, request, queryset, form.cleaned_data["reason"])
        return None
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Correct reports",
        "opts": model_admin.opts,
        "form": form,
        "reports": list(queryset.order_by("id")),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "apply_name": APPLY,
        # Posted back to where it came from, the list or the change page.
        "action_field": CHANGE_FORM_ACTION_FIELD
        if CHANGE_FORM_ACTION_FIELD in request.POST
        else "action",
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "admin/patients/report/correct.html", context)


@transaction.atomic
def correct_each(
    model_admin: "ReportAdmin",
    request: HttpRequest,
    queryset: QuerySet[Report],
    reason: str,
) -> None:
    """Correct each report of `queryset` with `reason`; one message each."""
    for report in queryset.order_by("id"):
        if report.status != Report.Status.RELEASED:
            model_admin.message_user(
                request,
                f"“{report}” was not corrected: only a released report is "
                f"corrected, and this one is {report.get_status_display().lower()}.",
                messages.ERROR,
            )
            continue
        try:
            edition = correct_report(report, reason=reason)
        except ValidationError as exc:
            model_admin.message_user(
                request,
                f"“{report}” was not corrected: {' '.join(exc.messages)}",
                messages.ERROR,
            )
            continue
        url = reverse("admin:patients_report_change", args=[edition.pk])
        model_admin.message_user(
            request,
            format_html(
                "“{}” was corrected. Its new edition {} is a draft: "
                '<a href="{}">edit it</a>, then verify and release it.',
                report,
                edition.edition,
                url,
            ),
        )
