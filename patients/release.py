"""The report release pipeline: what happens after a release commits.

`patients.actions.release_report` changes the
report's status and calls `start_release` in the same transaction: one
`ReportRelease` row (patients/models/reports.py) per released edition, recording
which steps are done, and the `run_release` Fusion job, which runs the
steps that are not, in order:

1. render the PDF (core.utils.pdf; PDF/A-3b, carrying the results as FHIR
   JSON, patients/fhir.py) and store it through the `s3` client
   under `labs/<lab>/reports/<report>/edition-<n>.pdf` (every released
   edition kept; not uploaded again when the key holds the same bytes),
   with its SHA-256 in the activity log;
2. push `report.ready` on the lab's Pusher channel;
3. record the `report.released` webhook event (delivered by the webhook
   jobs, with their own retries);
4. post to Slack when a value is critical (settings.REPORT_CRITICAL_SLACK_CHANNEL).

Each step marks itself done in its own transaction as soon as it succeeds,
so when a later step fails (S3, Pusher or Slack down) the job's retry runs
only what is left: a step that succeeded is never repeated. A step that
succeeded but crashed before marking itself may run again, so what leaves
carries the release's id for receivers to deduplicate (the Pusher event's
`event_id`, `release-<id>.report.ready`; the webhook's stable `webhook-id`;
the release id in the Slack text; the PDF's key, which a repeat overwrites
with the same bytes).
"""

import hashlib
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.models.translation import lab_texts
from core.utils import pdf as reports_pdf  # its renderer loads at first use
from core.utils.clients import get_client
from core.utils.fusion import job
from core.webhooks import emit_webhook
from patients.apps import RELEASE_TEMPLATE
from patients.fhir import fhir_attachment
from patients.models.reports import (
    REPORT_RELEASED,
    Report,
    ReportRelease,
    is_critical,
)

#: Outages of S3, Pusher or Slack are minutes to hours: 30 attempts with
#: Fusion's capped backoff span several hours before a dead letter.
RELEASE_MAX_ATTEMPTS = 30
RELEASE_TIME_LIMIT_SECONDS = 120
#: The "patients.release" report (registered, server-only: patients/apps.py).
REPORT_TEMPLATE = RELEASE_TEMPLATE
#: The real-time event that tells the lab's pages a released PDF is stored.
READY_EVENT = "report.ready"


@transaction.atomic
def start_release(report: Report) -> ReportRelease:
    """Record the release and queue its job: both or neither, and inside
    the caller's transaction (release_report's) only if that commits."""
    release = ReportRelease.objects.create(report=report)
    run_release.enqueue(release.pk)
    return release


@job(max_attempts=RELEASE_MAX_ATTEMPTS, time_limit_seconds=RELEASE_TIME_LIMIT_SECONDS)
def run_release(release_id: int) -> str:
    """Run the release steps not yet done; a failure raises, and Fusion
    retries the job later (only the steps still to do). Unlike an action,
    the steps commit one by one on purpose: the job is retried until all
    are done, so none is lost, and none that succeeded is repeated."""
    release = ReportRelease.objects.select_related("report__patient").get(pk=release_id)
    report = release.report
    steps = [
        ("pdf_stored_at", store_pdf),
        ("pusher_sent_at", push_ready),
        ("webhook_sent_at", emit_released),
        ("slack_sent_at", post_critical),
    ]
    for done_field, step in steps:
        if getattr(release, done_field) is None:
            # The step and its mark commit together: the webhook event is
            # recorded exactly once; an outside call (S3, Pusher, Slack) that
            # succeeded just before a crash is repeated, with the same ids.
            with transaction.atomic():
                step(release, report)
                _mark(release, done_field)
    if release.completed_at is None:
        _mark(release, "completed_at")
    return "released"


@transaction.atomic
def store_pdf(release: ReportRelease, report: Report) -> None:
    """Render and store the edition's PDF; record where and log its SHA-256,
    both or neither (run_release also marks the step in this transaction)."""
    key = f"labs/{report.lab_id}/reports/{report.pk}/edition-{report.edition}.pdf"
    pdf = stored_pdf(key)
    if pdf is None:
        pdf = release_pdf(report)
        get_client("s3").upload(key, pdf, content_type="application/pdf")
    digest = hashlib.sha256(pdf).hexdigest()
    release.pdf_key, release.pdf_sha256 = key, digest
    release.save(update_fields=["pdf_key", "pdf_sha256"])
    report.add_activity_log(
        "pdf_stored",
        f"PDF of edition {report.edition} stored",
        changes={"pdf": {"old": None, "new": {"key": key, "sha256": digest}}},
    )


def stored_pdf(key: str) -> bytes | None:
    """The PDF already under `key`, if an earlier attempt of this step stored
    it; else None.

    An attempt killed after S3 stored the PDF but before the step's mark
    committed leaves the object behind, and S3 takes no idempotency key.
    An edition's key is written only by its one release, so the retry
    adopts what is there (and logs its SHA-256) instead of uploading a new
    render: the PDF is stored once, one version in a versioned bucket, even
    though two PDF/A renders differ in their document ids and dates.
    """
    s3 = get_client("s3")
    return s3.download(key) if s3.exists(key) else None


def release_pdf(report: Report) -> bytes:
    """The PDF of a released edition (the "patients.release" report) on its
    lab's letterhead, in the lab's language, wording and numbers; a
    correction carries the CORRECTED watermark. It is kept, so it is
    PDF/A-3b, and carries its results as FHIR JSON (patients/fhir.py)."""
    results = [{**r, "critical": is_critical(r)} for r in report.results]
    lab = report.lab
    return reports_pdf.render_pdf(
        REPORT_TEMPLATE,
        {"report": report, "patient": report.patient, "results": results},
        lab=lab,
        watermark="CORRECTED" if report.previous_id else None,
        texts=lab_texts(lab.pk, lab.language),
        archival=True,
        attachments=[fhir_attachment(report)],
    )


def push_ready(release: ReportRelease, report: Report) -> None:
    """Tell the lab's open pages the PDF is ready. The event id names the
    release and the step (`release-42.report.ready`), so a retry of this
    step, after a crash between the call and its mark, sends the same id."""
    get_client("pusher").trigger(
        report.lab_id,
        READY_EVENT,
        _event(release, report),
        event_id=release_event_id(release, READY_EVENT),
    )


def release_event_id(release: ReportRelease, event: str) -> str:
    """The real-time event id of one release step: the same on every retry.

    Example: `release_event_id(release, "report.ready")` for release 42 is
    `"release-42.report.ready"`."""
    return f"release-{release.pk}.{event}"


def emit_released(release: ReportRelease, report: Report) -> None:
    """Record the `report.released` webhook event (delivered by its jobs)."""
    emit_webhook(
        report.lab_id, REPORT_RELEASED, _event(release, report),
        model_label="patients.report", object_id=str(report.pk),
    )  # fmt: skip


def post_critical(release: ReportRelease, report: Report) -> None:
    """Post to Slack when a value is critical (nothing otherwise)."""
    critical = [r for r in report.results if is_critical(r)]
    if not critical:
        return
    values = ", ".join(f"{r['test']} {r['value']} {r.get('unit', '')}".strip()
                       for r in critical)  # fmt: skip
    get_client("slack").post_message(
        settings.REPORT_CRITICAL_SLACK_CHANNEL,
        f"Critical values in report {report.pk} (lab {report.lab_id}, "
        f"release {release.pk}): {values}",
    )


def _event(release: ReportRelease, report: Report) -> dict[str, Any]:
    return {
        "release_id": release.pk,
        "report_id": report.pk,
        "edition": report.edition,
        "pdf_key": release.pdf_key,
        "pdf_sha256": release.pdf_sha256,
    }


def _mark(release: ReportRelease, field: str) -> None:
    setattr(release, field, timezone.now())
    release.save(update_fields=[field])
