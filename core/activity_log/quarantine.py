"""The shipper's quarantine: entries Elasticsearch refused for good.

A bulk item refused with 400 is refused for what the document holds (a
field its mapping cannot parse, a value too large); sent again unchanged it
fails again. Left pending, such an entry would head every batch and the
shipping lag would never recover. So the shipper records it here
(`ActivityLogShipQuarantine`) and stops picking it, and the rest ship.

Only 400 is permanent. 429 and 5xx are the cluster being busy or down, and
401/403/404 are about the cluster (an expired key, a missing privilege, an
index that may not be auto-created), not about one document: quarantining
those would sweep every entry aside while nothing ships. They stay pending
and go with a later run, as before.

A quarantined entry is not lost: it stays in the log table, unshipped, is
read from the database by `get_activities`, and no retention prune removes
it. `manage.py quarantined_activity_logs` lists them; `--retry` sends them
again after a fix (`shipping.retry_quarantined`).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from core.activity_log.models import (
    MAX_REASON_CHARS,
    ActivityLog,
    ActivityLogShipQuarantine,
)
from core.utils.elastic_search.types import BulkFailure

#: Per-item statuses that say "this document, never": see the module docstring.
PERMANENT_STATUSES = frozenset({400})
#: The type recorded when the client refused a document before sending it.
CLIENT_REFUSAL = "invalid_document"


def is_permanent(failure: BulkFailure) -> bool:
    """Whether Elasticsearch refused this document for what it holds."""
    return failure.status in PERMANENT_STATUSES


@dataclass(frozen=True)
class Refusal:
    """One entry refused permanently, with Elasticsearch's answer."""

    entry: ActivityLog
    failure: BulkFailure


def quarantined_ids() -> QuerySet[ActivityLogShipQuarantine, Any]:
    """The quarantined entry ids, as a subquery (`id__in=quarantined_ids()`)."""
    return ActivityLogShipQuarantine.objects.values("entry_id")


def quarantine(refusals: Sequence[Refusal]) -> None:
    """Record each refused entry (a first refusal, or one more attempt)."""
    if not refusals:
        return
    now = timezone.now()
    with transaction.atomic():
        known = set(
            ActivityLogShipQuarantine.objects.filter(
                entry_id__in=[r.entry.id for r in refusals]
            ).values_list("entry_id", flat=True)
        )
        for refusal in refusals:
            failure = refusal.failure
            values = {
                "status": failure.status,
                "error_type": (failure.error_type or CLIENT_REFUSAL)[:200],
                "reason": _reason(failure)[:MAX_REASON_CHARS],
                "last_attempt_at": now,
            }
            if refusal.entry.id in known:
                ActivityLogShipQuarantine.objects.filter(
                    entry_id=refusal.entry.id
                ).update(attempts=F("attempts") + 1, **values)
            else:
                ActivityLogShipQuarantine.objects.create(
                    entry_id=refusal.entry.id,
                    lab_id=refusal.entry.lab_id,
                    quarantined_at=now,
                    **values,
                )


def release(entry_ids: Iterable[int]) -> int:
    """Forget the quarantine of entries that have now shipped."""
    deleted, _ = ActivityLogShipQuarantine.objects.filter(
        entry_id__in=list(entry_ids)
    ).delete()
    return deleted


def quarantined_count() -> int:
    """How many entries are quarantined (the readiness report shows it)."""
    return ActivityLogShipQuarantine.objects.count()


def _reason(failure: BulkFailure) -> str:
    """Elasticsearch's reason without the `type: ` prefix the client adds."""
    prefix = f"{failure.error_type}: "
    if failure.error_type and failure.error.startswith(prefix):
        return failure.error[len(prefix) :]
    return failure.error
