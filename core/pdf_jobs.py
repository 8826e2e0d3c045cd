"""Background PDFs: a batch of reports rendered by a Fusion worker, merged
into one PDF, stored, and announced to the lab over Pusher.

    queued = enqueue_pdf_batch(lab.pk, [ReportRequest.from_json(item), ...])
    queued.key  # "labs/12/reports/9f1c...e0.pdf", where the PDF will be

What the job is given and what it re-reads: the job's arguments are the lab
id and a job id only. The reports to render (patient data) are written to
the file store first, under `labs/<lab>/pdf-requests/<job id>.json`
(core.utils.pdf.keys), because job arguments are kept in the queue's tables
and in dead letters, where patient data has no business being.

The job (`render_pdf_batch`), step by step:

1. If the PDF is already stored and the request file is gone, an earlier
   run finished: do nothing.
2. If the PDF is not stored: read the request (none either: an earlier run
   failed for good and said so; do nothing), render each report on the
   lab's letterhead, merge them and store the PDF under its key.
3. Trigger `pdf.ready` on the lab's channel (`private-lab-<id>`) with the key
   and a signed URL of the PDF (`presigned_url`: an S3 presigned URL, or
   local storage's signed /core/files/ link) valid for
   READY_URL_EXPIRY_SECONDS, then delete the request file.

Retries and idempotency: the PDF's key is fixed by the job id, so however
often the job runs, one file is stored under one key, and a rendering is
never repeated once the PDF is stored. The file store being down raises
StorageUnavailable and Fusion retries with backoff (the request file keeps
the reports meanwhile: nothing is lost). Pusher being down raises
PusherUnavailable after the PDF is stored; the retry skips straight to the
notification. So `pdf.ready` is sent at least once while the job has
attempts left, and normally exactly once: a duplicate (same key) is possible
only when Pusher took the event but its answer, or the deletion of the
request file, was lost. Every run sends the same `event_id`,
`pdf-<job id>.pdf.ready` (its URL may differ: it is signed anew), and
pages drop an id they have handled (docs/realtime.md). After all
attempts the job is a dead letter an operator can re-run; the PDF stays
stored. Pusher refusing the event (bad credentials, not a passing outage)
is logged and not retried: the PDF is stored, and a retry would be refused
again.

A report that cannot be rendered (too large, too many pages, a refused
resource, a report name no longer registered) will not render on a retry
either: the job triggers `pdf.failed` with the key and the reason, deletes
the request and ends without storing a PDF.
"""

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.metrics.renders import BATCH, counted_render
from core.models.translation import lab_texts
from core.tenancy.hierarchy import lab_model
from core.utils.aws.exceptions import ObjectNotFound
from core.utils.clients import get_client
from core.utils.fusion import job
from core.utils.pdf.compose import merge_pdfs
from core.utils.pdf.errors import PdfError
from core.utils.pdf.keys import check_job_id, new_job_id, report_key, request_key
from core.utils.pdf.registered import render_report
from core.utils.pdf.registry import ReportRequest, ReportRequestInvalid, UnknownReport
from core.utils.pusher.exceptions import PusherError

if TYPE_CHECKING:
    from admin.account.models import Lab

logger = logging.getLogger(__name__)

#: The event on the lab's channel when the PDF is stored.
READY_EVENT = "pdf.ready"
#: The event on the lab's channel when the PDF cannot be made.
FAILED_EVENT = "pdf.failed"
#: How long the URL in `pdf.ready` works: long enough to open it after a
#: coffee, short enough that a forwarded event is soon useless.
READY_URL_EXPIRY_SECONDS = 60 * 60
#: Eight attempts with the default capped backoff ride out about half an
#: hour of file-store or Pusher outage before the job is a dead letter.
BATCH_MAX_ATTEMPTS = 8
#: A batch is at most settings.PDF_MAX_BATCH_REPORTS reports, each within
#: settings.PDF_MAX_PAGES; WeasyPrint lays out tens of pages a second.
BATCH_TIME_LIMIT_SECONDS = 10 * 60
#: The request file's format, stored with it, so a later version of this
#: code can tell an old request from a new one.
REQUEST_FORMAT = 1


@dataclass(frozen=True)
class QueuedPdf:
    """A batch handed to the worker: the Fusion job's id, and the key the PDF
    will be stored under.

    Example: `QueuedPdf(job="3b0e...", key="labs/12/reports/9f1c...e0.pdf")`.
    """

    job: str
    key: str


def enqueue_pdf_batch(lab_id: int, reports: Sequence[ReportRequest]) -> QueuedPdf:
    """Store the reports to render for `lab_id` and enqueue the job that
    renders them into one PDF. Raises StorageError (StorageUnavailable while
    the file store is down) before anything is queued."""
    if not reports:
        raise ValueError("A PDF batch needs at least one report.")
    job_id = new_job_id()
    request = {
        "format": REQUEST_FORMAT,
        "reports": [report.to_json() for report in reports],
    }
    get_client("s3").upload(
        request_key(lab_id, job_id),
        json.dumps(request, ensure_ascii=False).encode("utf-8"),
        content_type="application/json",
    )
    result = render_pdf_batch.enqueue(lab_id, job_id)
    return QueuedPdf(job=str(result.id), key=report_key(lab_id, job_id))


@job(max_attempts=BATCH_MAX_ATTEMPTS, time_limit_seconds=BATCH_TIME_LIMIT_SECONDS)
def render_pdf_batch(lab_id: int, job_id: str) -> dict[str, str]:
    """Render, store and announce the PDF of job `job_id` (see the module
    docstring); safe to run any number of times.

    Returns what happened, for the job's record (no patient data):
    `{"status": "ready", "key": ...}`, `{"status": "failed", "key": ...,
    "error": ...}`, or `{"status": "done-before", "key": ...}`.
    """
    check_job_id(job_id)
    storage = get_client("s3")
    key, pending = report_key(lab_id, job_id), request_key(lab_id, job_id)
    if storage.exists(key):
        if not storage.exists(pending):
            return {"status": "done-before", "key": key}
    else:
        try:
            request = json.loads(storage.download(pending))
        except ObjectNotFound:
            return {"status": "done-before", "key": key}
        try:
            with counted_render(BATCH):
                pdf = _render(lab_model().objects.get(pk=lab_id), request["reports"])
        except (PdfError, ReportRequestInvalid, UnknownReport) as error:
            _notify(lab_id, job_id, FAILED_EVENT, {"key": key, "error": str(error)})
            storage.delete(pending)
            logger.warning("PDF job %s for lab %s failed: %s", job_id, lab_id, error)
            return {"status": "failed", "key": key, "error": str(error)}
        storage.upload(key, pdf, content_type="application/pdf")
        logger.info("PDF job %s for lab %s stored %d bytes", job_id, lab_id, len(pdf))
    url = storage.presigned_url(key, expires_seconds=READY_URL_EXPIRY_SECONDS)
    _notify(lab_id, job_id, READY_EVENT, {"key": key, "url": url})
    storage.delete(pending)
    return {"status": "ready", "key": key}


def _render(lab: "Lab", reports: list[Any]) -> bytes:
    """Each report rendered on `lab`'s letterhead in its wording, merged in
    order. The requests are checked again: a report may have been withdrawn
    since."""
    texts = lab_texts(lab.pk, lab.language)
    pdfs = [
        render_report(
            ReportRequest.from_json(item, where=f"batch[{number}]"),
            lab=lab,
            texts=texts,
        )
        for number, item in enumerate(reports)
    ]
    return merge_pdfs(pdfs)


def _notify(lab_id: int, job_id: str, event: str, data: dict[str, str]) -> None:
    """Trigger `event` on the lab's channel, with the event id
    `pdf-<job id>.<event>` that every run of the job repeats. A passing
    outage raises (the job is retried); a refusal is logged, since retrying
    cannot change it."""
    try:
        get_client("pusher").trigger(
            lab_id, event, data, event_id=f"pdf-{job_id}.{event}"
        )
    except PusherError as error:
        if error.retryable:
            raise
        logger.error("PDF event %s for lab %s refused: %s", event, lab_id, error)
