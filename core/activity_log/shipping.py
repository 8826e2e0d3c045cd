"""Shipping activity log entries to the search store (Elasticsearch).

The database table stays the source of truth. The shipper takes unshipped
entries oldest first, sends them in one bulk request to monthly indices
(`activity-2026.11`, laid out by `index.py`'s template) with the entry id as
the document id, so sending one twice is harmless, and marks as shipped only
those the store confirmed and made searchable.
When the store is down nothing is marked: the entries wait and go with a
later run. `manage.py ship_activity_logs` and the `ship_activity_logs` job
run it; `shipping_lag_seconds()` is the health endpoint's lag figure.
"""

from dataclasses import dataclass

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
from core.activity_log.models import ActivityLog
from core.utils.capabilities import Capability
from core.utils.clients import get_client
from core.utils.fusion import job

SHIP_BATCH_SIZE = 500


@dataclass(frozen=True)
class ShipResult:
    """How one shipping run went: entries confirmed, and entries left for a
    later run because the store refused them or did not answer."""

    shipped: int
    failed: int


def ship_batch(limit: int = SHIP_BATCH_SIZE) -> ShipResult:
    """Ship up to `limit` unshipped entries, oldest first."""
    entries = list(ActivityLog.objects.filter(shipped=False).order_by("id")[:limit])
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
    refused = {failure.position for failure in result.failures}
    confirmed = [e.id for position, e in enumerate(entries) if position not in refused]
    ActivityLog.objects.filter(id__in=confirmed).mark_shipped()
    return ShipResult(len(confirmed), len(refused))


def ship_all(batch_size: int = SHIP_BATCH_SIZE) -> ShipResult:
    """Ship batches until nothing is left or a batch is not fully confirmed."""
    shipped = failed = 0
    while True:
        result = ship_batch(batch_size)
        shipped, failed = shipped + result.shipped, failed + result.failed
        if result.failed or result.shipped < batch_size:
            return ShipResult(shipped, failed)


def shipping_lag_seconds() -> float | None:
    """Age of the oldest unshipped entry; None when everything is shipped."""
    oldest = (
        ActivityLog.objects.filter(shipped=False)
        .order_by("id")
        .values_list("created_at", flat=True)
        .first()
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
    backoff) when the store refused or missed entries; they stay pending."""
    result = ship_all()
    if result.failed:
        raise ShippingIncomplete(
            f"{result.failed} entries were not confirmed; they will be sent again."
        )
    return result.shipped
