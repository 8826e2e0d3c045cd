"""POST /core/pdf/ (URL name `core:pdf`): PDF reports for the request's lab.

Who: a lab session (staff or a doctor; CSRF token required, as for every
session-authenticated POST) or an API key (no CSRF: a key is not a cookie a
browser sends by itself). Anything else is 401.

The JSON body holds exactly one of:

- `{"report": "<name>", "context": {...}, "watermark": "DRAFT" | "CORRECTED" | null}`
  renders the registered report `name` (core.utils.pdf.registry; e.g.
  "patients.summary") with `context` under `data`, on the lab's letterhead,
  in the lab's language, and streams it back: 200 `application/pdf`,
  `Content-Disposition: inline; filename="patients-summary.pdf"`. A body
  over settings.PDF_SYNC_MAX_REQUEST_BYTES is rendered in the background
  instead, as a batch of one (202, below). The render runs in a render
  slot and a forked, lower-priority process with a time limit
  (core.pdf_sync).
- `{"merge": ["labs/<lab>/reports/<name>.pdf", ...]}` streams the stored
  PDFs merged in order ("merged.pdf"); one key fetches one stored PDF.
  Keys are the lab's own and, for staff and API keys, its child labs' (a
  doctor: the own lab only). A key of any other lab, a malformed key and a
  missing file get the same 404, whose message names only the position
  (`merge[2]`): "not yours" cannot be told from "does not exist", and as a
  foreign key is refused before the store is asked, not by timing either.
- `{"batch": [{"report": ..., "context": ..., "watermark": ...}, ...]}`
  answers 202 `{"job": "<Fusion job id>", "key": "labs/<lab>/reports/<id>.pdf"}`
  at once; a Fusion job renders the reports into one PDF, stores it under
  `key` and triggers `pdf.ready` (`{"event_id", "key", "url"}`) or
  `pdf.failed` (`{"event_id", "key", "error"}`) on the lab's Pusher channel
  (a repeat has the same `event_id`: docs/realtime.md). See core.pdf_jobs
  for retries and idempotency. Fetch the PDF with the event's signed URL,
  or with `{"merge": [key]}`.

Refusals are JSON (`{"error": ..., "request_id": ...}`); each names the
setting of the limit it reports:

- 400: malformed JSON; not exactly one of report / merge / batch; a bad
  field; a stored file that is not a readable PDF; a resource the report
  may not load.
- 401: no lab session and no API key (a revoked key: ApiKeyMiddleware, at
  once, on every route).
- 403: a session POST without a valid CSRF token.
- 404: an unknown report name; a stored key that is missing or not the lab's.
- 405: any method but POST.
- 413: a body over PDF_MAX_REQUEST_BYTES (judged by Content-Length, before
  it is read); more than PDF_MAX_MERGE_FILES keys or PDF_MAX_BATCH_REPORTS
  reports; a report's context nested deeper than PDF_MAX_CONTEXT_DEPTH or
  with more values than PDF_MAX_CONTEXT_VALUES_PER_PAGE per page of the
  report's page limit (checked before anything is rendered or queued);
  HTML over PDF_MAX_HTML_BYTES or with more elements than
  PDF_MAX_HTML_ELEMENTS_PER_PAGE per page (checked before WeasyPrint
  parses it); more pages than the report's own max_pages, or
  PDF_MAX_PAGES (layout stops at the first page past it).
- 429: over PDF_RATE_LIMIT_PER_LAB requests per PDF_RATE_LIMIT_WINDOW_SECONDS
  for the lab (all modes together); or no render slot free, with
  PDF_RENDER_SLOTS_PER_LAB renders of the lab or PDF_RENDER_SLOTS_TOTAL of
  all labs running (Retry-After: 2).
- 503: the file store is unreachable (with Retry-After); a render stopped
  at PDF_RENDER_TIME_LIMIT_SECONDS (Retry-After: 30; a report that slow
  belongs in a batch).

A render that fails unexpectedly is a 500 like any crash: the error (raised
in the render process, brought back with its traceback) is logged with the
request id and sent to Sentry; WeasyPrint's log lines of the render are
logged by the web process as its own.

The body is read (within PDF_MAX_REQUEST_BYTES) before anything answers,
refusals included: see _body_read_first.

Settings are read per request, never at import.
"""

import functools
import io
from collections.abc import Callable
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpRequest, JsonResponse
from django.http.response import HttpResponseBase

from core.decorators import allowed_methods, rate_limit, request_json, require_lab
from core.http import (
    json_error,
    malformed_json_response,
    validation_fields,
)
from core.middleware.lab_context import LabRequest
from core.pdf_jobs import enqueue_pdf_batch
from core.pdf_sync import RendersBusy, RenderTimedOut, render_now
from core.tenancy import LabScope
from core.tenancy.hierarchy import lab_model
from core.utils.aws.exceptions import ObjectNotFound, StorageUnavailable
from core.utils.clients import get_client
from core.utils.json_input import OBJECT, TEXT, MalformedJson, check_fields, list_of
from core.utils.pdf.compose import merge_pdfs
from core.utils.pdf.errors import (
    PdfContextTooLarge,
    PdfHtmlTooLarge,
    PdfResourceRefused,
    PdfTooManyElements,
    PdfTooManyPages,
    PdfUnreadable,
)
from core.utils.pdf.keys import report_key_lab
from core.utils.pdf.limits import check_context
from core.utils.pdf.registry import (
    REQUEST_TYPES,
    ReportRequest,
    ReportRequestInvalid,
    UnknownReport,
)

#: What one request may ask for, one of them per body.
MODES = ("report", "merge", "batch")
#: The JSON types of the body's fields (core.utils.json_input): stored PDF
#: keys to merge, report requests to run in the background, or one report.
BODY_TYPES = {"merge": list_of(TEXT), "batch": list_of(OBJECT), **REQUEST_TYPES}
#: The file name of a merge's answer.
MERGED_FILENAME = "merged.pdf"
#: The rate-limit counter this endpoint shares across its modes.
RATE_LIMIT_SCOPE = "core.pdf"
#: Retry-After of a 503 while the file store is down, in seconds.
STORAGE_DOWN_RETRY_AFTER_SECONDS = 30


class Refusal(Exception):
    """Stops a request with a JSON error: `Refusal("...", 413)`."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _body_read_first(
    view: Callable[..., HttpResponseBase],
) -> Callable[..., HttpResponseBase]:
    """Read the request's body (when its Content-Length is within
    settings.PDF_MAX_REQUEST_BYTES) before anything can answer.

    Why: gunicorn's gthread worker drains at most 64 KB of a body the app did
    not read; past that it closes the connection "gracefully" on its main
    thread, waiting up to 2 s for the client to close too, and meanwhile that
    whole worker accepts and dispatches nothing. A refusal that never read
    the body (405, 401, 403, the rate limit's 429) would give that stall to
    anyone sending a large body and keeping the connection open. Reading up
    to 1 MB costs far less than parsing it; a larger declared body is
    refused unread (413, _read_body).
    """

    @functools.wraps(view)
    def wrapper(request: HttpRequest) -> HttpResponseBase:
        if _declared_length(request) <= settings.PDF_MAX_REQUEST_BYTES:
            _ = request.body  # read now, kept for the view
        return view(request)

    return wrapper


@_body_read_first
@allowed_methods("POST")
@require_lab
def pdf(request: LabRequest) -> HttpResponseBase:
    """The endpoint; see the module docstring."""
    limited = rate_limit(
        settings.PDF_RATE_LIMIT_PER_LAB,
        settings.PDF_RATE_LIMIT_WINDOW_SECONDS,
        per="lab",
        scope=RATE_LIMIT_SCOPE,
    )(_answer)
    response: HttpResponseBase = limited(request)
    return response


def _answer(request: LabRequest) -> HttpResponseBase:
    try:
        data = _read_body(request)
        mode = _mode(data)
        if mode == "merge":
            return _merge(request, data)
        if mode == "batch":
            return _queue(request, _batch(data))
        report = ReportRequest.from_json(data)
        check_context(report)
        if len(request.body) > settings.PDF_SYNC_MAX_REQUEST_BYTES:
            return _queue(request, [report])
        lab = lab_model().objects.get(pk=_lab_id(request))
        return _pdf_response(render_now(report, lab), report.report.filename)
    except Refusal as refusal:
        return json_error(str(refusal), refusal.status)
    except MalformedJson as malformed:
        return malformed_json_response(malformed)
    except ValidationError as invalid:
        fields = validation_fields(invalid)
        return json_error("Some values are not valid; see fields.", 400, fields=fields)
    except ReportRequestInvalid as invalid:
        extra = {"fields": invalid.fields} if invalid.fields else {}
        return json_error(str(invalid), 400, **extra)
    except UnknownReport as unknown:
        return json_error(str(unknown), 404)
    except (
        PdfContextTooLarge,
        PdfHtmlTooLarge,
        PdfTooManyElements,
        PdfTooManyPages,
    ) as too_large:
        return json_error(str(too_large), 413)
    except RendersBusy as busy:
        return _retry_later(str(busy), 429, busy.retry_after_seconds)
    except RenderTimedOut as timed_out:
        return _retry_later(str(timed_out), 503, timed_out.retry_after_seconds)
    except (PdfResourceRefused, PdfUnreadable) as unusable:
        return json_error(str(unusable), 400)
    except StorageUnavailable:
        return _retry_later(
            "File storage is unavailable for a moment; try again shortly.",
            503,
            STORAGE_DOWN_RETRY_AFTER_SECONDS,
        )


def _retry_later(message: str, status: int, seconds: int) -> JsonResponse:
    response = json_error(message, status)
    response["Retry-After"] = str(seconds)
    return response


def _read_body(request: HttpRequest) -> dict[str, Any]:
    """The body's JSON object; 413 past PDF_MAX_REQUEST_BYTES, judged by
    Content-Length before a byte is read, 400 when it is not a JSON object."""
    limit: int = settings.PDF_MAX_REQUEST_BYTES
    declared = _declared_length(request)
    if declared > limit:
        raise Refusal(
            f"The request body is {declared:,} bytes; at most {limit:,} are accepted "
            "(settings.PDF_MAX_REQUEST_BYTES). Send fewer or smaller reports.",
            413,
        )
    return request_json(request)


def _declared_length(request: HttpRequest) -> int:
    """The body's Content-Length; 0 when missing or malformed (Django then
    reads no body at all)."""
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _mode(data: dict[str, Any]) -> str:
    found = [mode for mode in MODES if mode in data]
    if len(found) != 1:
        given = f"it has {' and '.join(found)}" if found else "it has none"
        raise Refusal(
            f"Send exactly one of {', '.join(MODES)} in the JSON body; {given}.", 400
        )
    check_fields(data, BODY_TYPES)
    return found[0]


def _batch(data: dict[str, Any]) -> list[ReportRequest]:
    _only(data, "batch")
    items = data["batch"]
    if not items:
        raise Refusal("'batch' must be a non-empty list of report requests.", 400)
    limit: int = settings.PDF_MAX_BATCH_REPORTS
    if len(items) > limit:
        raise Refusal(
            f"The batch has {len(items)} reports; at most {limit} are accepted "
            "(settings.PDF_MAX_BATCH_REPORTS). Split it into several batches.",
            413,
        )
    reports = [
        ReportRequest.from_json(item, where=f"batch[{number}]")
        for number, item in enumerate(items)
    ]
    for number, report in enumerate(reports):
        try:
            check_context(report)
        except PdfContextTooLarge as too_large:
            raise Refusal(f"batch[{number}]: {too_large}", 413) from None
    return reports


def _merge(request: LabRequest, data: dict[str, Any]) -> HttpResponseBase:
    _only(data, "merge")
    keys = data["merge"]
    if not keys:
        raise Refusal("'merge' must be a non-empty list of stored PDF keys.", 400)
    limit: int = settings.PDF_MAX_MERGE_FILES
    if len(keys) > limit:
        raise Refusal(
            f"'merge' has {len(keys)} keys; at most {limit} files are merged "
            "(settings.PDF_MAX_MERGE_FILES).",
            413,
        )
    scope = cast(LabScope, request.scope)  # require_lab: every request has one
    for number, key in enumerate(keys):
        if report_key_lab(key) not in scope:
            raise _not_found(number)
    storage = get_client("s3")
    pdfs = []
    for number, key in enumerate(keys):
        try:
            pdfs.append(storage.download(key))
        except ObjectNotFound:
            raise _not_found(number) from None
    return _pdf_response(merge_pdfs(pdfs), MERGED_FILENAME)


def _lab_id(request: LabRequest) -> int:
    # require_lab has refused every request without a lab.
    return cast(int, request.lab_id)


def _not_found(number: int) -> Refusal:
    # One message for missing, another lab's and malformed keys alike.
    return Refusal(
        f"merge[{number}]: there is no stored PDF under this key. Give the key "
        "of one of your lab's stored reports as it was returned "
        "(labs/<lab>/reports/...).",
        404,
    )


def _only(data: dict[str, Any], mode: str) -> None:
    extra = sorted(name for name in data if name != mode)
    if extra:
        raise Refusal(
            f"A {mode} request has only the field {mode!r}; remove {', '.join(extra)}.",
            400,
        )


def _queue(request: LabRequest, reports: list[ReportRequest]) -> JsonResponse:
    queued = enqueue_pdf_batch(_lab_id(request), reports)
    response = JsonResponse({"job": queued.job, "key": queued.key}, status=202)
    response["Cache-Control"] = "no-store"
    return response


def _pdf_response(pdf: bytes, filename: str) -> FileResponse:
    """`pdf` streamed inline under `filename`, never cached (patient data)."""
    response = FileResponse(
        io.BytesIO(pdf), content_type="application/pdf", filename=filename
    )
    response["Cache-Control"] = "private, no-store"
    return response
