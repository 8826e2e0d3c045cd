"""Reading the activity log: one record's entries, filtered, newest first,
a page at a time, within the reader's lab scope."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from core.models.activity_log import ActivityLog
from core.models.lab_scoped import lab_ids_in_scope

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class ActivityPage:
    """One page of entries; pass `next_cursor` back for the next (None: last)."""

    entries: list[ActivityLog]
    next_cursor: int | None


def get_activities(
    model_label: str,
    instance_id: Any,
    start_date: dt.date | dt.datetime | None = None,
    end_date: dt.date | dt.datetime | None = None,
    *,
    lab_id: int | None = None,
    action: str | None = None,
    category_id: int | None = None,
    actor_id: str | None = None,
    text: str | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
    cursor: int | None = None,
) -> ActivityPage:
    """Entries about one record, newest first.

    `lab_id` is the reader's lab: entries of that lab and its descendants are
    visible, never a parent's or a sibling's; without it, only entries of
    records that belong to no lab. Dates are whole days in the lab's time
    zone (`end_date` included); datetimes must be timezone-aware.
    Example: `get_activities("patients.patient", 42, date(2026, 11, 1),
    lab_id=3, action="update")`.
    """
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}; got {limit}.")
    entries = ActivityLog.objects.filter(
        model_label=model_label, instance_id=str(instance_id)
    )
    if lab_id is None:
        entries = entries.filter(lab_id__isnull=True)
    else:
        entries = entries.filter(lab_id__in=lab_ids_in_scope(lab_id))
    start, end = day_bounds(start_date, end_date, lab_id)
    if start is not None:
        entries = entries.filter(created_at__gte=start)
    if end is not None:
        entries = entries.filter(created_at__lt=end)
    if action:
        entries = entries.filter(action=action)
    if category_id is not None:
        entries = entries.filter(category_id=category_id)
    if actor_id:
        entries = entries.filter(actor_id=actor_id)
    if text:
        entries = entries.filter(Q(message__icontains=text) | Q(reason__icontains=text))
    if cursor is not None:
        entries = entries.filter(id__lt=cursor)
    page = list(entries.order_by("-id")[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return ActivityPage(page, page[-1].id if more else None)


def day_bounds(
    start: dt.date | dt.datetime | None,
    end: dt.date | dt.datetime | None,
    lab_id: int | None,
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """Aware datetimes for a range; dates are whole days in the lab's zone
    (`end` included), datetimes must be aware."""
    zone = _lab_zone(lab_id) if _is_day(start) or _is_day(end) else dt.UTC
    return _moment(start, zone, 0), _moment(end, zone, 1)


def _is_day(value: Any) -> bool:
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)


def _moment(value: Any, zone: Any, days_after: int) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError(
                f"{value.isoformat()} has no time zone; pass an aware datetime "
                "or a date (a whole day in the lab's time zone)."
            )
        return value
    day = value + dt.timedelta(days=days_after)
    return dt.datetime(day.year, day.month, day.day, tzinfo=zone)


def _lab_zone(lab_id: int | None) -> Any:
    if lab_id is None:
        return dt.UTC
    from admin.account.models import Lab  # admin.account builds on core

    lab = Lab.objects.filter(pk=lab_id).only("time_zone").first()
    return lab.zone if lab else dt.UTC
