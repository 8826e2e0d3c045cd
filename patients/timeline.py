"""A report's timeline: what happened to it and to all its editions, in order.

`report_timeline(report)` merges, for the report and every edition linked
to it through `previous` (older) and `correction` (newer):

- its activity entries (`Report.get_activities`, read in the report's lab),
  with their field changes; a `pdf_stored` entry also carries the stored
  file's key and SHA-256;
- the webhook deliveries of the events about it (those naming it as their
  record: `report.created|updated|deleted` and `report.released`);
- its stored PDFs (one per released edition, from `ReportRelease`), each
  with a download link signed for PDF_LINK_EXPIRY_SECONDS.

Oldest first; items of the same moment come entries, then deliveries, then
PDFs. Shown by the admin's Timeline page of a report (patients/admin.py).
"""

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, cast

from core.activity_log.models import ActivityLog
from core.models.webhook import WebhookDelivery
from core.utils.clients import get_client
from patients.models import Report, ReportRelease

#: A download link stays valid this long after the page is shown; reloading
#: the page signs new ones.
PDF_LINK_EXPIRY_SECONDS = 15 * 60
#: Entries read per query of the activity log (every page is read).
ACTIVITY_PAGE_SIZE = 200
#: Longest shown text of one old or new value (results lists get long).
MAX_VALUE_CHARS = 200
#: The activity the release pipeline writes once an edition's PDF is stored.
PDF_STORED_ACTION = "pdf_stored"


class Kind(StrEnum):
    """What a timeline item is; also its order among items of one moment."""

    ACTIVITY = "activity"
    WEBHOOK = "webhook"
    PDF = "pdf"


_KIND_ORDER = {kind: index for index, kind in enumerate(Kind)}


@dataclass(frozen=True)
class FieldChange:
    """One field's change in an activity entry, as text for people."""

    field: str
    old: str
    new: str


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


@dataclass(frozen=True)
class TimelineItem:
    """One thing that happened to one edition of the report, at `at`."""

    kind: Kind
    at: dt.datetime
    report_id: int
    edition: int
    detail: ActivityDetail | DeliveryDetail | PdfDetail
    #: Breaks ties between items of one kind and moment (the row's id).
    sequence: int = 0


def report_timeline(
    report: Report, *, page_size: int = ACTIVITY_PAGE_SIZE
) -> list[TimelineItem]:
    """Everything that happened to `report` and its editions, oldest first
    (see the module docstring). `page_size` is how many activity entries
    each query reads.

    Example: `[TimelineItem(kind=Kind.ACTIVITY, at=..., report_id=7,
    edition=1, detail=ActivityDetail(action="create", ...)), ...,
    TimelineItem(kind=Kind.PDF, ..., detail=PdfDetail(key="labs/2/reports/7/
    edition-1.pdf", download_url="/core/files/...", ...))]`.
    """
    editions = report_editions(report)
    items: list[TimelineItem] = []
    for edition in editions:
        items.extend(activity_items(edition, page_size))
    items.extend(delivery_items(editions))
    items.extend(pdf_items(editions))
    return sorted(
        items, key=lambda item: (item.at, _KIND_ORDER[item.kind], item.sequence)
    )


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


def activity_items(edition: Report, page_size: int) -> list[TimelineItem]:
    """The edition's activity entries (every page), read in its lab."""
    items: list[TimelineItem] = []
    cursor: int | None = None
    while True:
        page = Report.get_activities(
            edition.pk, lab_id=edition.lab_id, limit=page_size, cursor=cursor
        )
        items.extend(_activity_item(edition, entry) for entry in page.entries)
        if page.next_cursor is None:
            return items
        cursor = page.next_cursor


def _activity_item(edition: Report, entry: ActivityLog) -> TimelineItem:
    changes = dict(entry.changes or {})
    pdf: dict[str, Any] = {}
    if entry.action == PDF_STORED_ACTION:
        stored = changes.pop("pdf", None)
        new = stored.get("new") if isinstance(stored, dict) else None
        pdf = new if isinstance(new, dict) else {}
    detail = ActivityDetail(
        action=entry.action,
        message=entry.message,
        actor=f"{entry.actor_name} ({entry.actor_kind})",
        reason=entry.reason,
        changes=field_changes(changes),
        pdf_key=str(pdf.get("key", "")),
        pdf_sha256=str(pdf.get("sha256", "")),
    )
    return TimelineItem(
        Kind.ACTIVITY, entry.created_at, edition.pk, edition.edition, detail, entry.id
    )


def field_changes(changes: dict[str, Any]) -> tuple[FieldChange, ...]:
    """An entry's `changes` (`{"title": {"old": "CBC", "new": "..."}}`) as
    text, in the entry's order; a value that is not an old/new pair is
    shown as the new value.

    Example: `field_changes({"title": {"old": "CBC", "new": "Complete blood
    count"}})` -> `(FieldChange("title", "CBC", "Complete blood count"),)`.
    """
    shown = []
    for name, change in changes.items():
        pair = change if isinstance(change, dict) else {"new": change}
        shown.append(
            FieldChange(
                name, display_value(pair.get("old")), display_value(pair.get("new"))
            )
        )
    return tuple(shown)


def display_value(value: Any) -> str:
    """A logged value as text: "—" for none, strings as they are, anything
    else as JSON; at most MAX_VALUE_CHARS characters (cut with "…").

    Example: `display_value([{"test": "Hb", "value": 13}])` ->
    `'[{"test": "Hb", "value": 13}]'`.
    """
    if value is None:
        return "—"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if len(text) > MAX_VALUE_CHARS:
        return text[: MAX_VALUE_CHARS - 1] + "…"
    return text


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
