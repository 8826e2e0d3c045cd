"""Shipping activity log entries to the search store (Elasticsearch).

The database table stays the source of truth. The shipper takes unshipped
entries oldest first, sends them in one bulk request to monthly indices
(`activity-2026.11`, laid out by `index.py`'s template) with the entry id as
the document id, so sending one twice is harmless, and marks as shipped only
those the store confirmed and made searchable.
When the store is down nothing is marked: the entries wait and go with a
later run. An entry Elasticsearch refuses for what it holds (a per-item
400) is quarantined instead (core/activity_log/quarantine.py), so it cannot
head every batch; `retry_quarantined` sends such entries again after a fix.
`manage.py ship_activity_logs` and the `ship_activity_logs` job run it;
`shipping_lag_seconds()` is the health endpoint's lag figure.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import models, transaction
from django.utils import timezone

from core.activity_log.index import (
    INDEX_PATTERN,
    MAPPINGS,
    SETTINGS,
    TEMPLATE_NAME,
    TEMPLATE_PRIORITY,
    index_name,
    to_document,
)
from core.activity_log.models import ActivityLog, ActivityLogShipQuarantine
from core.activity_log.quarantine import (
    Refusal,
    is_permanent,
    quarantine,
    quarantined_ids,
    release,
)
from core.metrics.families import SHIPPED_ENTRIES
from core.utils.capabilities import Capability
from core.utils.clients import get_client
from core.utils.fusion import job

logger = logging.getLogger(__name__)

SHIP_BATCH_SIZE = 500


@dataclass(frozen=True)
class ShipResult:
    """How one shipping run went: entries confirmed, entries left for a
    later run because the store did not take them now (429, 5xx, no
    answer), and entries quarantined because it refused them for good."""

    shipped: int
    failed: int
    quarantined: int = 0


def pending_entries() -> "models.QuerySet[ActivityLog]":
    """Entries waiting to ship: unshipped and not quarantined."""
    return ActivityLog.objects.filter(shipped=False).exclude(id__in=quarantined_ids())


def ship_batch(limit: int = SHIP_BATCH_SIZE) -> ShipResult:
    """Ship up to `limit` pending entries, oldest first."""
    return _ship(list(pending_entries().order_by("id")[:limit]))


def _ship(entries: Sequence[ActivityLog]) -> ShipResult:
    """Send `entries` in one bulk request; mark what the store confirmed,
    quarantine what it refused for good, leave the rest pending."""
    if not entries:
        return ShipResult(0, 0)
    store = get_client("es")
    store.ensure_index_template(
        TEMPLATE_NAME, [INDEX_PATTERN], MAPPINGS, SETTINGS, priority=TEMPLATE_PRIORITY
    )
    # wait_for: an entry is marked shipped only once searches can see it, so
    # get_activities (database for unshipped, Elasticsearch for shipped)
    # never misses one in between.
    result = store.bulk(
        (
            {
                "_op_type": "index",
                "_index": index_name(entry.created_at),
                "_id": str(entry.id),
                "_source": to_document(entry),
            }
            for entry in entries
        ),
        refresh="wait_for",
    )
    failures = {failure.position: failure for failure in result.failures}
    confirmed = [e.id for position, e in enumerate(entries) if position not in failures]
    refusals = [
        Refusal(entries[position], failure)
        for position, failure in failures.items()
        if is_permanent(failure)
    ]
    with transaction.atomic():
        ActivityLog.objects.filter(id__in=confirmed).mark_shipped()
        release(confirmed)
        quarantine(refusals)
    for refusal in refusals:
        logger.warning(
            "Activity log entry %s quarantined: Elasticsearch refused it (%s %s)",
            refusal.entry.id, refusal.failure.status, refusal.failure.error_type,
        )  # fmt: skip
    shipped = ShipResult(len(confirmed), len(failures) - len(refusals), len(refusals))
    SHIPPED_ENTRIES.labels("shipped").inc(shipped.shipped)
    SHIPPED_ENTRIES.labels("failed").inc(shipped.failed)
    SHIPPED_ENTRIES.labels("quarantined").inc(shipped.quarantined)
    return shipped


def ship_all(batch_size: int = SHIP_BATCH_SIZE) -> ShipResult:
    """Ship batches until nothing is left or a batch was not fully taken
    (quarantined entries count as taken: they leave the queue)."""
    shipped = failed = quarantined = 0
    while True:
        result = ship_batch(batch_size)
        shipped, failed = shipped + result.shipped, failed + result.failed
        quarantined += result.quarantined
        if result.failed or result.shipped + result.quarantined < batch_size:
            return ShipResult(shipped, failed, quarantined)


def resend_shipped(batch_size: int = SHIP_BATCH_SIZE) -> ShipResult:
    """Send every entry already marked shipped again, oldest first: after
    the search store lost its data (a new, empty cluster), which `shipped`
    cannot say, since it only ever flips from false to true. Each document
    keeps its id, so what the store still holds is overwritten with the
    same content. Stops at the first batch the store did not fully take
    (down, 429): run it again, from the start. Entries the retention prune
    removed from the table cannot be sent again; only a snapshot of the
    store has them.
    """
    shipped = ActivityLog.objects.filter(shipped=True).order_by("id")
    sent = quarantined = 0
    last_id = 0
    while True:
        batch = list(shipped.filter(id__gt=last_id)[:batch_size])
        if not batch:
            return ShipResult(sent, 0, quarantined)
        result = _ship(batch)
        sent, quarantined = sent + result.shipped, quarantined + result.quarantined
        if result.failed:
            return ShipResult(sent, result.failed, quarantined)
        last_id = batch[-1].id


def retry_quarantined(
    entry_ids: Sequence[int] | None = None, batch_size: int = SHIP_BATCH_SIZE
) -> ShipResult:
    """Send quarantined entries (all, or those of `entry_ids`) again, after
    a fix. Those Elasticsearch takes are shipped and leave the quarantine;
    those it refuses again stay, with the new reason and one more attempt."""
    rows = ActivityLogShipQuarantine.objects.order_by("entry_id")
    if entry_ids is not None:
        rows = rows.filter(entry_id__in=list(entry_ids))
    ids = list(rows.values_list("entry_id", flat=True))
    # An entry shipped some other way (or gone) needs no retry.
    release(set(ids) - set(ActivityLog.objects.filter(id__in=ids, shipped=False)
                           .values_list("id", flat=True)))  # fmt: skip
    shipped = failed = quarantined = 0
    for first in range(0, len(ids), batch_size):
        batch = ActivityLog.objects.filter(
            id__in=ids[first : first + batch_size], shipped=False
        ).order_by("id")
        result = _ship(list(batch))
        shipped, failed = shipped + result.shipped, failed + result.failed
        quarantined += result.quarantined
    return ShipResult(shipped, failed, quarantined)


def shipping_lag_seconds() -> float | None:
    """Age of the oldest entry waiting to ship; None when nothing waits.
    Quarantined entries do not wait (the readiness report counts them)."""
    oldest = (
        pending_entries().order_by("id").values_list("created_at", flat=True).first()
    )
    return None if oldest is None else (timezone.now() - oldest).total_seconds()


def ship_pending() -> int:
    """The periodic shipper (settings.FUSION_PERIODIC_TASKS): ships only to a
    search server. Without one (the null client) the log table is the only
    store, and there is nowhere to ship to."""
    if not get_client("es").can(Capability.SEARCH_SERVER):
        return 0
    return ship_all().shipped


class ShippingIncomplete(Exception):
    """Some entries were not confirmed by the store; the job retries."""


@job(max_attempts=20, time_limit_seconds=300)
def ship_activity_logs() -> int:
    """Fusion job: ship everything pending. Raises (so Fusion retries with
    backoff) when the store missed entries; they stay pending. Entries it
    refused for good are quarantined, which is no reason to retry."""
    result = ship_all()
    if result.failed:
        raise ShippingIncomplete(
            f"{result.failed} entries were not confirmed; they will be sent again."
        )
    return result.shipped
