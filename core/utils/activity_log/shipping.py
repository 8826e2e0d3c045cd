"""Shipping activity log entries to the search store (Elasticsearch).

The database table stays the source of truth. The shipper takes unshipped
entries oldest first, sends them in one bulk request to monthly indices
(`activity-2026.11`) with the entry id as the document id, so sending one
twice is harmless, and marks as shipped only those the store confirmed.
When the store is down nothing is marked: the entries wait and go with a
later run. `manage.py ship_activity_logs` and the `ship_activity_logs` job
run it; `shipping_lag_seconds()` is the health endpoint's lag figure.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from core.models.activity_log import ActivityLog
from core.utils.clients import get_client
from core.utils.fusion import job

INDEX_PREFIX = "activity-"
SHIP_BATCH_SIZE = 500
#: Explicit mappings: keyword ids for exact filters, text only where people
#: search words, dates as dates; nothing left to dynamic mapping's guesses.
MAPPINGS: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        "lab_id": {"type": "long"},
        "parent_lab_id": {"type": "long"},
        "model_label": {"type": "keyword"},
        "instance_id": {"type": "keyword"},
        "action": {"type": "keyword"},
        "category_id": {"type": "integer"},
        "message": {"type": "text"},
        "reason": {"type": "text"},
        "changes": {"type": "object", "enabled": False},
        "actor_id": {"type": "keyword"},
        "actor_name": {"type": "keyword"},
        "actor_role": {"type": "keyword"},
        "actor_kind": {"type": "keyword"},
        "request_id": {"type": "keyword"},
        "client_ip": {"type": "ip"},
        "user_agent": {"type": "keyword"},
        "created_at": {"type": "date"},
    },
}
_DOCUMENT_FIELDS = tuple(MAPPINGS["properties"])


@dataclass(frozen=True)
class ShipResult:
    """How one shipping run went: entries confirmed, and entries left for a
    later run because the store refused them or did not answer."""

    shipped: int
    failed: int


def index_name(created_at: dt.datetime) -> str:
    """The monthly index of an entry, e.g. `activity-2026.11` (UTC month)."""
    return f"{INDEX_PREFIX}{created_at.astimezone(dt.UTC):%Y.%m}"


def ship_batch(limit: int = SHIP_BATCH_SIZE) -> ShipResult:
    """Ship up to `limit` unshipped entries, oldest first."""
    entries = list(ActivityLog.objects.filter(shipped=False).order_by("id")[:limit])
    if not entries:
        return ShipResult(0, 0)
    store = get_client("es")
    for name in {index_name(entry.created_at) for entry in entries}:
        store.ensure_index(name, MAPPINGS)
    result = store.bulk(
        {
            "_op_type": "index",
            "_index": index_name(entry.created_at),
            "_id": str(entry.id),
            "_source": {field: getattr(entry, field) for field in _DOCUMENT_FIELDS},
        }
        for entry in entries
    )
    refused = {failure.position for failure in result.failures}
    confirmed = [e.id for position, e in enumerate(entries) if position not in refused]
    ActivityLog.objects.filter(id__in=confirmed).mark_shipped()
    return ShipResult(len(confirmed), len(refused))


def ship_all() -> ShipResult:
    """Ship batches until nothing is left or a batch is not fully confirmed."""
    shipped = failed = 0
    while True:
        result = ship_batch()
        shipped, failed = shipped + result.shipped, failed + result.failed
        if result.failed or result.shipped < SHIP_BATCH_SIZE:
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
    real Elasticsearch. With the embedded database store the log table is
    already the searchable store, so copying it would only double it."""
    # Local import: the client module loads the elasticsearch package.
    from core.utils.elastic_search.client import ElasticSearchClient

    if not isinstance(get_client("es"), ElasticSearchClient):
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
