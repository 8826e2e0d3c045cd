"""A record's History page in the admin: its activity-log entries, newest
first, HISTORY_PAGE_SIZE at a time, as a lab person reads them.

- Times are on the record's lab's clock (the lab's own for a lab; the
  reader's lab's for a record of no lab; else UTC), each with its zone's
  abbreviation, and the column names the zone.
- Changes read through core/admin/change_display.py: choice labels, names
  of related rows (among the reader's labs only; one query per related
  model for the page), instants on the same clock.
- Entries are read as stored; nothing is rewritten.
"""

from dataclasses import dataclass
from typing import Any

from django.contrib.admin import ModelAdmin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.template.response import TemplateResponse

from core.activity_log.models import ActivityLog
from core.admin.change_display import (
    ChangeReader,
    FieldChange,
    reader_lab_ids,
    record_zone,
)
from core.utils.date import format_lab_clock

#: Entries per page of a record's History.
HISTORY_PAGE_SIZE = 50


@dataclass(frozen=True)
class HistoryRow:
    """One entry as the page shows it."""

    when: str
    who: str
    action: str
    changes: tuple[FieldChange, ...]
    reason: str


def history_response(
    model_admin: ModelAdmin[Any],
    request: HttpRequest,
    object_id: str,
    extra_context: Any = None,
) -> TemplateResponse:
    """The History page of `object_id` (PermissionDenied for a record the
    user may not view, or none)."""
    obj = model_admin.get_object(request, unquote(object_id))
    if obj is None or not model_admin.has_view_or_change_permission(request, obj):
        raise PermissionDenied
    cursor = request.GET.get("cursor")
    entries = ActivityLog.objects.filter(
        model_label=obj._meta.label_lower, instance_id=str(obj.pk)
    )
    if cursor and cursor.isdigit():
        entries = entries.filter(id__lt=int(cursor))
    page = list(entries.order_by("-id")[: HISTORY_PAGE_SIZE + 1])
    shown = page[:HISTORY_PAGE_SIZE]
    zone = record_zone(obj, request)
    reader = ChangeReader(type(obj), lab_ids=reader_lab_ids(request), zone=zone)
    changes = reader.describe([entry.changes for entry in shown])
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"History: {obj}",
        "opts": model_admin.opts,
        "object": obj,
        "zone_name": zone.key,
        "rows": [
            HistoryRow(
                when=format_lab_clock(entry.created_at, zone),
                who=f"{entry.actor_name} ({entry.actor_kind})",
                action=entry.action,
                changes=described,
                reason=entry.reason,
            )
            for entry, described in zip(shown, changes, strict=True)
        ],
        "next_cursor": page[HISTORY_PAGE_SIZE - 1].id
        if len(page) > HISTORY_PAGE_SIZE
        else None,
        **(extra_context or {}),
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "admin/core/activity_history.html", context)
