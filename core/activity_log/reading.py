"""Reading the activity log: one record's entries, filtered, newest first,
a page at a time, within the reader's lab scope, from Elasticsearch when it
is configured and answering, else from the database, with the same result."""

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db.models import Q, QuerySet

from core.activity_log.index import INDEX_PATTERN, from_document
from core.activity_log.models import ActivityLog
from core.activity_log.text_match import case_pattern
from core.tenancy import trusted_scope
from core.tenancy.hierarchy import lab_model
from core.utils.capabilities import Capability
from core.utils.clients import get_client
from core.utils.elastic_search.errors import SearchError
from core.utils.elastic_search.types import SearchResult, format_datetime

logger = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
#: A read waits this long for Elasticsearch before answering from the
#: database instead (no retries: the fallback is the retry).
SEARCH_TIMEOUT_SECONDS = 2.0


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
    """Entries about one record, newest first, as an `ActivityPage`: its
    `entries` (ActivityLog rows) and `next_cursor` for the next page.

    `lab_id` is the reader's lab, already authorised (a request's
    `request.scope.lab_id`; this trusts its caller): entries of that lab and
    its descendants are visible, never a parent's or a sibling's; without
    it, only entries of records that belong to no lab, so leaving it out
    for a lab-scoped model is a ValueError, not an empty page. Dates are whole days
    in the lab's time zone (`end_date` included); datetimes must be
    timezone-aware. `text` (at most 100 characters) finds a
    case-insensitive substring of the message or the reason, the same way
    in every store (core/activity_log/text_match.py).
    Example: `get_activities("patients.patient", 42, date(2026, 11, 1),
    lab_id=3, action="update")`.

    With Elasticsearch configured and answering, shipped entries come from
    it and the not-yet-shipped ones from the database; otherwise (down,
    refusing with 401/403/400, and while its breaker is open after
    failures) everything comes from the database, the source of truth, and
    the cause is kept for readiness (`store.read_status`). Either way the
    page is the same.
    """
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}; got {limit}.")
    if lab_id is None and _is_lab_scoped(model_label):
        raise ValueError(
            f"{model_label} is lab-scoped: pass the reader's lab_id (without "
            "it only entries of records that belong to no lab are visible, "
            "and a lab's record has none)."
        )
    start, end = day_bounds(start_date, end_date, lab_id)
    wanted = ActivityFilter(
        model_label=model_label,
        instance_id=str(instance_id),
        lab_ids=None if lab_id is None else list(trusted_scope(lab_id).lab_ids),
        start=start,
        end=end,
        action=action or None,
        category_id=category_id,
        actor_id=actor_id or None,
        text=text or None,
        before_id=cursor,
    )
    store = get_client("es")
    if store.can(Capability.SEARCH_SERVER) and store.read_breaker.allow():
        try:
            page = _page(_from_both(store, wanted, limit + 1), limit)
        except SearchError as exc:
            # Down, overloaded, or refusing (401 expired key, 403 missing
            # privilege, 400 a query it cannot run): the database has every
            # entry, so the reader gets its page and readiness says why.
            store.read_breaker.record_failure()
            store.read_status.record_fallback(exc.cause)
            logger.warning("Activity log read from the database: %s", exc)
        else:
            store.read_breaker.record_success()
            store.read_status.record_success()
            return page
    return _page(list(wanted.queryset().order_by("-id")[: limit + 1]), limit)


def _is_lab_scoped(model_label: str) -> bool:
    """Whether the model named `model_label` has a lab (False for a label
    that names no installed model, e.g. an entry about a retired model)."""
    try:
        model = apps.get_model(model_label)
    except (LookupError, ValueError):
        return False
    return any(field.attname == "lab_id" for field in model._meta.concrete_fields)


@dataclass(frozen=True)
class ActivityFilter:
    """What `get_activities` asks for, in a form both stores take."""

    model_label: str
    instance_id: str
    lab_ids: list[int] | None  # None: records that belong to no lab
    start: dt.datetime | None
    end: dt.datetime | None
    action: str | None
    category_id: int | None
    actor_id: str | None
    text: str | None
    before_id: int | None

    def queryset(self) -> QuerySet[ActivityLog]:
        """The matching rows of the log table."""
        entries = ActivityLog.objects.filter(
            model_label=self.model_label, instance_id=self.instance_id
        )
        if self.lab_ids is None:
            entries = entries.filter(lab_id__isnull=True)
        else:
            entries = entries.filter(lab_id__in=self.lab_ids)
        if self.start is not None:
            entries = entries.filter(created_at__gte=self.start)
        if self.end is not None:
            entries = entries.filter(created_at__lt=self.end)
        if self.action:
            entries = entries.filter(action=self.action)
        if self.category_id is not None:
            entries = entries.filter(category_id=self.category_id)
        if self.actor_id:
            entries = entries.filter(actor_id=self.actor_id)
        if self.text:
            pattern = case_pattern(self.text)  # same matching in every store
            entries = entries.filter(
                Q(message__regex=pattern) | Q(reason__regex=pattern)
            )
        if self.before_id is not None:
            entries = entries.filter(id__lt=self.before_id)
        return entries

    def search_query(self) -> dict[str, Any]:
        """The same filter in Elasticsearch's query DSL (see index.MAPPINGS)."""
        clauses: list[dict[str, Any]] = [
            {"term": {"model_label": self.model_label}},
            {"term": {"instance_id": self.instance_id}},
        ]
        excluded: list[dict[str, Any]] = []
        if self.lab_ids is None:
            excluded.append({"exists": {"field": "lab_id"}})
        else:
            clauses.append({"terms": {"lab_id": self.lab_ids}})
        moments = {"gte": self.start, "lt": self.end}
        if any(moments.values()):
            clauses.append({"range": {"created_at": {
                op: format_datetime(moment) for op, moment in moments.items() if moment
            }}})  # fmt: skip
        for field in ("action", "category_id", "actor_id"):
            if getattr(self, field) is not None:
                clauses.append({"term": {field: getattr(self, field)}})
        if self.text:
            # Lucene's regexp is anchored; case_insensitive would fold ASCII only.
            pattern = f".*{case_pattern(self.text)}.*"
            clauses.append({"bool": {"minimum_should_match": 1, "should": [
                {"regexp": {f"{field}.substring": {"value": pattern}}}
                for field in ("message", "reason")
            ]}})  # fmt: skip
        if self.before_id is not None:
            clauses.append({"range": {"id": {"lt": self.before_id}}})
        return {"bool": {"filter": clauses, "must_not": excluded}}


def _from_both(store: Any, wanted: ActivityFilter, size: int) -> list[ActivityLog]:
    """The newest `size` matches: unshipped rows from the database, shipped
    ones from Elasticsearch. The database is asked first: an entry shipped
    in between is then found by both (and counted once), never by neither,
    since the shipper marks an entry only once it is searchable."""
    pending = list(wanted.queryset().filter(shipped=False).order_by("-id")[:size])
    found = store.search(
        INDEX_PATTERN,
        wanted.search_query(),
        sort=[{"id": "desc"}],
        size=size,
        timeout_seconds=SEARCH_TIMEOUT_SECONDS,
    )
    by_id = {entry.id: entry for entry in map(from_document, _sources(found))}
    by_id.update((entry.id, entry) for entry in pending)
    return [by_id[entry_id] for entry_id in sorted(by_id, reverse=True)[:size]]


def _sources(found: SearchResult) -> list[dict[str, Any]]:
    return [hit.source for hit in found.hits]


def _page(entries: list[ActivityLog], limit: int) -> ActivityPage:
    """A page of `limit` from `limit + 1` candidates (one more says "more")."""
    page = entries[:limit]
    return ActivityPage(page, page[-1].id if len(entries) > limit else None)


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
    Lab = lab_model()
    try:
        return Lab.get_cached_instance(lab_id).zone
    except Lab.DoesNotExist:
        return dt.UTC
