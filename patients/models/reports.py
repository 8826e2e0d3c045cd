"""Reports: a patient's results with reference ranges, and their lifecycle.

    draft -> verified -> released -> corrected (superseded by a new version)

- The status changes only through the actions of patients/actions.py
  (`verify_report`, `release_report`, `correct_report`), never by hand
  (validate refuses any other transition).
- A released report is edited or deleted only with a reason
  (`change_reason_required`), which the activity log keeps.
- `correct_report(report, reason=...)` marks a released report corrected
  and returns a new draft edition that points to it (`previous`); every
  released edition's PDF is kept.
- `release_report(report)` changes the status, records its `ReportRelease`
  and queues the release pipeline (patients/release.py: PDF, storage,
  Pusher, webhook, Slack, each step on its own after commit), all in one
  transaction.
- This module holds the models only: the actions import them, never the
  other way round.

Results are a list of `{"test", "value", "unit", "low", "high",
"critical_low", "critical_high"}` (numbers optional except `test` and
`value`). A value outside its critical bounds makes the report critical.
"""

from numbers import Real
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from core.models import BaseModel, LabScopedMixin
from core.webhooks import WebhookEventsMixin, declare_webhook_event

#: Result keys, and which of them must be numbers when given.
RESULT_KEYS = {"test", "value", "unit", "low", "high", "critical_low", "critical_high"}
NUMERIC_KEYS = ("low", "high", "critical_low", "critical_high")
#: Sent to the lab's subscribers once a released edition's PDF is stored.
REPORT_RELEASED = declare_webhook_event(
    "report.released", "A report edition was released and its PDF stored."
)


class Report(WebhookEventsMixin, LabScopedMixin, BaseModel):
    """One edition of a patient's report; see the module docstring."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        VERIFIED = "verified", "Verified"
        RELEASED = "released", "Released"
        CORRECTED = "corrected", "Corrected"

    #: The transitions validate() allows (from the loaded status).
    TRANSITIONS = {
        Status.DRAFT: {Status.DRAFT, Status.VERIFIED},
        Status.VERIFIED: {Status.VERIFIED, Status.DRAFT, Status.RELEASED},
        Status.RELEASED: {Status.RELEASED, Status.CORRECTED},
        Status.CORRECTED: {Status.CORRECTED},
    }

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="reports"
    )
    title = models.CharField(max_length=200)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.DRAFT
    )
    edition = models.PositiveIntegerField(default=1)
    previous = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT,
        related_name="correction",
    )  # fmt: skip
    results = models.JSONField(default=list, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)

    mandatory_fields = ("lab", "patient", "title")

    class Meta:
        ordering = ("-id",)

    def __str__(self) -> str:
        return f"{self.title} (edition {self.edition})"

    # -- rules ---------------------------------------------------------------

    def change_reason_required(self, action: str) -> bool:
        """Editing or deleting a released (or corrected) report needs a reason."""
        loaded = self.initial_value("status")
        return loaded in (self.Status.RELEASED, self.Status.CORRECTED)

    def validate(self, *args: Any, **kwargs: Any) -> None:
        super().validate(*args, **kwargs)
        errors: dict[str, list[str]] = {}
        loaded = self.initial_value("status") or self.Status.DRAFT
        if self.status not in self.TRANSITIONS[self.Status(loaded)]:
            errors["status"] = [transition_refusal(loaded, self.status)]
        if self.patient_id and self.lab_id and self.patient.lab_id != self.lab_id:
            errors["patient"] = ["The patient belongs to another lab."]
        problems = results_problems(self.results)
        if problems:
            errors["results"] = problems
        if errors:
            raise ValidationError(errors)

    @property
    def is_critical(self) -> bool:
        """True when a numeric value lies outside its critical bounds."""
        return any(is_critical(result) for result in self.results)

    def webhook_payload(self) -> dict[str, Any]:
        """What a webhook says about a report (no patient details)."""
        return {
            "id": self.pk, "patient_id": self.patient_id, "title": self.title,
            "status": self.status, "edition": self.edition,
            "previous_id": self.previous_id,
        }  # fmt: skip


#: What a report in each status can go on to, in words people use.
NEXT_STEPS = {
    Report.Status.DRAFT: "A draft is verified first, then released.",
    Report.Status.VERIFIED: "A verified report is released, or sent back to "
    "draft to be edited.",
    Report.Status.RELEASED: "A released report is changed by correcting it, "
    "which issues a new edition to edit and release.",
    Report.Status.CORRECTED: "It has been replaced by a newer edition; work on "
    "that one.",
}


def transition_refusal(loaded: str, wanted: str) -> str:
    """Why a report in status `loaded` cannot move to `wanted`, and what it
    can do instead, in plain words.

    Example: `transition_refusal("draft", "released")` -> "A draft report
    cannot become released. A draft is verified first, then released."
    """
    status = Report.Status(loaded)
    return (
        f"A {status.label.lower()} report cannot become {wanted}. {NEXT_STEPS[status]}"
    )


def results_problems(results: Any) -> list[str]:
    """What is wrong with a results list, one sentence each ([] when fine)."""
    if not isinstance(results, list):
        return ["Results are a list of {test, value, unit, low, high} objects."]
    problems = []
    for number, result in enumerate(results, start=1):
        if (
            not isinstance(result, dict)
            or "test" not in result
            or "value" not in result
        ):
            problems.append(f"Result {number} needs at least a test and a value.")
            continue
        unknown = set(result) - RESULT_KEYS
        if unknown:
            problems.append(f"Result {number} has unknown keys: {sorted(unknown)}.")
        for key in NUMERIC_KEYS:
            if key in result and not _is_number(result[key]):
                problems.append(f"Result {number}: {key} must be a number.")
    return problems


def is_critical(result: dict[str, Any]) -> bool:
    """True when the result's value is below critical_low or above
    critical_high (non-numeric values are never critical)."""
    value = _number(result.get("value"))
    if value is None:
        return False
    low, high = (
        _number(result.get("critical_low")),
        _number(result.get("critical_high")),
    )
    return (low is not None and value < low) or (high is not None and value > high)


def _number(value: Any) -> float | None:
    return float(value) if _is_number(value) else None


def _is_number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


class ReportRelease(models.Model):
    """Which release steps of one report edition are done (see the module
    docstring). Plain Model: pipeline bookkeeping; what matters to people
    is in the report's activity log."""

    report = models.OneToOneField(
        Report, on_delete=models.PROTECT, related_name="release_record"
    )
    created_at = models.DateTimeField(default=timezone.now)
    pdf_key = models.CharField(max_length=300, blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    pdf_stored_at = models.DateTimeField(null=True, blank=True)
    pusher_sent_at = models.DateTimeField(null=True, blank=True)
    webhook_sent_at = models.DateTimeField(null=True, blank=True)
    slack_sent_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"release of report {self.report_id}"
