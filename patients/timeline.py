"""A report's timeline: what happened to it and to all its editions, in order.

`report_timeline(report)` merges, for the report and every edition linked
to it through `previous` (older) and `correction` (newer):

- its activity entries (`Report.get_activities`, read in the report's lab),
  with their field changes; a `pdf_stored` entry also carries the stored
  file's key and SHA-256;
- the webhook deliveries of the events about it (those naming it as their
  record: `report.created|updated|deleted` and `report.released`);
- its stored PDFs (one per released edition, from `ReportRelease`), each
  with a download link signed for PDF_LINK_EXPIRY_SECONDS;
- for a released edition whose PDF is not stored yet, a "PDF waiting for
  the job worker" item at its release.

Changes read as people read them (core/admin/change_display.py: choice
labels, names of related rows among the reader's labs); the page shows
times on the report's lab's clock (`report_zone`).

Oldest first; items of the same moment come entries, then deliveries, then
PDFs. Shown by the admin's Timeline page of a report (patients/admin.py).
"""

import datetime as dt
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, cast
from zoneinfo import ZoneInfo

from core.activity_log.models import ActivityLog
from core.admin.change_display import (
    MAX_VALUE_CHARS,
    ChangeReader,
    FieldChange,
    display_value,
)
from core.models.webhook import WebhookDelivery
from core.utils.clients import get_client
from patients.models import Report, ReportRelease

#: A download link stays valid this long after the page is shown; reloading
#: the page signs new ones.
PDF_LINK_EXPIRY_SECONDS = 15 * 60
#: Entries read per query of the activity log (every page is read).
ACTIVITY_PAGE_SIZE = 200
#: The activity the release pipeline writes once an edition's PDF is stored.
PDF_STORED_ACTION = "pdf_stored"


class Kind(StrEnum):
    """What a timeline item is; also its order among items of one moment."""

    ACTIVITY = "activity"
    WEBHOOK = "webhook"
    PDF = "pdf"
    PDF_WAITING = "pdf_waiting"


_KIND_ORDER = {kind: index for index, kind in enumerate(Kind)}


@dataclass(frozen=True)
class ActivityDetail:
    """An activity entry: who did what, which fields changed, and why.
    `pdf_key` / `pdf_sha256` are set for `pdf_stored` entries only."""

    action: str
    message: str
    actor: str
    reason: str
    changes: tuple[FieldChange, ...]
    pdf_key: str = ""
    pdf_sha256: str = ""


@dataclass(frozen=True)
class DeliveryDetail:
    """A webhook delivery of an event about the report. `endpoint_url` is
    reduced to scheme, host and port (paths often carry tokens)."""

    delivery_id: int
    event_id: str
    event_type: str
    endpoint_url: str
    status: str
    attempts: int
    last_response_status: int | None
    last_error: str


@dataclass(frozen=True)
class PdfDetail:
    """A stored PDF of one edition, with a signed download link."""

    key: str
    sha256: str
    download_url: str


#: What a released edition whose PDF is not stored yet shows.
WAITING_TEXT = (
    "The report is released; its PDF is made, stored and sent once the job "
    "worker runs its release job (scripts/run.sh starts a worker with the "
    "server)."
)


@dataclass(frozen=True)
class PdfWaitingDetail:
    """A released edition whose PDF the job worker has not made yet."""

    text: str


@dataclass(frozen=True)
class TimelineItem:
    """One thing that happened to one edition of the report, at `at`."""

    kind: Kind
    at: dt.datetime
    report_id: int
    edition: int
    detail: ActivityDetail | DeliveryDetail | PdfDetail | PdfWaitingDetail
    #: Breaks ties between items of one kind and moment (the row's id).
    sequence: int = 0


def report_timeline(
    report: Report,
    *,
    lab_ids: Collection[int] | None = None,
    page_size: int = ACTIVITY_PAGE_SIZE,
) -> list[TimelineItem]:
    """Everything that happened to `report` and its editions, oldest first
    (see the module docstring). `lab_ids` are the labs whose rows the
    reader may see named in the changes (`core.admin.change_display
    .reader_lab_ids`; None: every lab, for a caller that vouches for its
    reader). `page_size` is how many activity entries each query reads.

    Example: `[TimelineItem(kind=Kind.ACTIVITY, at=..., report_id=7,
    edition=1, detail=ActivityDetail(action="create", ...)), ...,
    TimelineItem(kind=Kind.PDF, ..., detail=PdfDetail(key="labs/2/reports/7/
    edition-1.pdf", download_url="/core/files/...", ...))]`.
    """
    editions = report_editions(report)
    reader = ChangeReader(Report, lab_ids=lab_ids, zone=report_zone(report))
    entries = [
        (edition, entry)
        for edition in editions
        for entry in activity_entries(edition, page_size)
    ]
    items = activity_items(entries, reader)
    items.extend(delivery_items(editions))
    items.extend(pdf_items(editions))
    items.extend(waiting_pdf_items(editions))
    return sorted(
        items, key=lambda item: (item.at, _KIND_ORDER[item.kind], item.sequence)
    )


def report_zone(report: Report) -> ZoneInfo:
    """The clock a report's timeline is read on: its lab's."""
    zone: ZoneInfo = report.cached_lab.zone
    return zone


def report_editions(report: Report) -> list[Report]:
    """`report` and every edition linked to it, oldest first: the ones it
    corrects (`previous`, followed back) and the ones correcting it
    (`correction`, followed forward). A link back to an edition already
    seen (a loop made by hand in the database) ends the walk."""
    seen = {report.pk}
    older: list[Report] = []
    current = report
    while current.previous_id is not None and current.previous_id not in seen:
        current = Report.objects.get(pk=current.previous_id)
        seen.add(current.pk)
        older.append(current)
    newer: list[Report] = []
    current = report
    while True:
        following = Report.objects.filter(previous_id=current.pk).first()
        if following is None or following.pk in seen:
            break
        seen.add(following.pk)
        newer.append(following)
        current = following
    return [*reversed(older), report, *newer]


def activity_entries(edition: Report, page_size: int) -> list[ActivityLog]:
    """The edition's activity entries (every page), read in its lab."""
    entries: list[ActivityLog] = []
    cursor: int | None = None
    while True:
        page = Report.get_activities(
            edition.pk, lab_id=edition.lab_id, limit=page_size, cursor=cursor
        )
        entries.extend(page.entries)
        if page.next_cursor is None:
            return entries
        cursor = page.next_cursor


def activity_items(
    entries: Sequence[tuple[Report, ActivityLog]], reader: ChangeReader
) -> list[TimelineItem]:
    """Each (edition, entry) as an item, its changes read by `reader` (one
    query per related model for them all). A `pdf_stored` entry's file is
    shown as its key and digest, not as a change."""
    pdfs = [_stored_pdf(entry) for _, entry in entries]
    changes = reader.describe(
        [
            {
                name: change
                for name, change in (entry.changes or {}).items()
                if not (entry.action == PDF_STORED_ACTION and name == "pdf")
            }
            for _, entry in entries
        ]
    )
    return [
        _activity_item(edition, entry, described, pdf)
        for (edition, entry), described, pdf in zip(entries, changes, pdfs, strict=True)
    ]


def _stored_pdf(entry: ActivityLog) -> dict[str, Any]:
    """The stored file of a `pdf_stored` entry ({} for other entries)."""
    if entry.action != PDF_STORED_ACTION:
        return {}
    stored = (entry.changes or {}).get("pdf")
    new = stored.get("new") if isinstance(stored, dict) else None
    return new if isinstance(new, dict) else {}


def _activity_item(
    edition: Report,
    entry: ActivityLog,
    changes: tuple[FieldChange, ...],
    pdf: dict[str, Any],
) -> TimelineItem:
    detail = ActivityDetail(
        action=entry.action,
        message=entry.message,
        actor=f"{entry.actor_name} ({entry.actor_kind})",
        reason=entry.reason,
        changes=changes,
        pdf_key=str(pdf.get("key", "")),
        pdf_sha256=str(pdf.get("sha256", "")),
    )
    return TimelineItem(
        Kind.ACTIVITY, entry.created_at, edition.pk, edition.edition, detail, entry.id
    )


def field_changes(changes: dict[str, Any]) -> tuple[FieldChange, ...]:
    """A report entry's `changes` (`{"title": {"old": "CBC", "new": ...}}`)
    as people read them (core.admin.change_display: choice labels, names
    of related rows of any lab, instants in UTC), in the entry's order; a
    value that is not an old/new pair is shown as the new value.

    Example: `field_changes({"status": {"old": "draft", "new":
    "verified"}})` -> `(FieldChange("status", "Draft", "Verified"),)`.
    """
    reader = ChangeReader(Report, lab_ids=None, zone=ZoneInfo("UTC"))
    return reader.describe([changes])[0]


def waiting_pdf_items(editions: Iterable[Report]) -> list[TimelineItem]:
    """A "PDF waiting for the job worker" item for each released edition
    whose PDF is not stored yet (its release job has not run: no worker is
    running, or it is behind), at the moment it was released."""
    by_id = {edition.pk: edition for edition in editions}
    waiting = ReportRelease.objects.filter(
        report_id__in=by_id, pdf_stored_at__isnull=True
    ).order_by("id")
    return [_waiting_item(by_id[release.report_id], release) for release in waiting]


def _waiting_item(edition: Report, release: ReportRelease) -> TimelineItem:
    detail = PdfWaitingDetail(WAITING_TEXT)
    return TimelineItem(
        Kind.PDF_WAITING, release.created_at, edition.pk, edition.edition, detail,
        release.pk,
    )  # fmt: skip


def delivery_items(editions: Iterable[Report]) -> list[TimelineItem]:
    """The webhook deliveries of every event about one of `editions`: the
    events that name a report as their record (model events, and
    `report.released` as patients/release.py records it)."""
    by_id = {str(edition.pk): edition for edition in editions}
    lab_ids = {edition.lab_id for edition in by_id.values()}
    deliveries = (
        WebhookDelivery.objects.filter(
            event__lab_id__in=lab_ids,
            event__model_label=Report._meta.label_lower,
            event__object_id__in=by_id,
        )
        .select_related("event", "endpoint")
        .order_by("id")
    )
    return [
        _delivery_item(by_id[delivery.event.object_id], delivery)
        for delivery in deliveries
    ]


def _delivery_item(edition: Report, delivery: WebhookDelivery) -> TimelineItem:
    detail = DeliveryDetail(
        delivery_id=delivery.pk,
        event_id=delivery.event_id,
        event_type=delivery.event.event_type,
        endpoint_url=delivery.endpoint.display_url,
        status=delivery.get_status_display(),
        attempts=delivery.attempts,
        last_response_status=delivery.last_response_status,
        last_error=delivery.last_error,
    )
    return TimelineItem(
        Kind.WEBHOOK, delivery.created_at, edition.pk, edition.edition, detail,
        delivery.pk,
    )  # fmt: skip


def pdf_items(editions: Iterable[Report]) -> list[TimelineItem]:
    """The stored PDF of each released edition, with a download link."""
    by_id = {edition.pk: edition for edition in editions}
    releases = ReportRelease.objects.filter(
        report_id__in=by_id, pdf_stored_at__isnull=False
    ).exclude(pdf_key="")
    storage = get_client("s3")
    items = []
    for release in releases.order_by("id"):
        edition = by_id[release.report_id]
        detail = PdfDetail(
            key=release.pdf_key,
            sha256=release.pdf_sha256,
            download_url=storage.presigned_url(
                release.pdf_key, expires_seconds=PDF_LINK_EXPIRY_SECONDS
            ),
        )
        stored_at = cast(dt.datetime, release.pdf_stored_at)  # not null: filtered
        items.append(
            TimelineItem(
                Kind.PDF, stored_at, edition.pk, edition.edition, detail, release.pk
            )
        )
    return items


__all__ = [
    "MAX_VALUE_CHARS",
    "PDF_LINK_EXPIRY_SECONDS",
    "ActivityDetail",
    "DeliveryDetail",
    "FieldChange",
    "Kind",
    "PdfDetail",
    "PdfWaitingDetail",
    "TimelineItem",
    "display_value",
    "field_changes",
    "report_editions",
    "report_timeline",
    "report_zone",
]
