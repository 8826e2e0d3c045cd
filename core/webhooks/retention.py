"""How long webhook history is kept: events with their deliveries and
attempts, removed once they are old and finished.

`prune_webhook_history(days)` (and `manage.py prune_webhooks`, for cron)
removes every event that occurred more than `days` days ago
(settings.WEBHOOK_HISTORY_DAYS, 90 by default) and none of whose deliveries
is still pending or was created or finished within those days: an event
being retried, or replayed lately, stays with its whole history. Its
deliveries and attempts go with it. What a change did is kept by the
activity log, not here: these rows are the delivery machinery's ledger.
"""

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from core.models.webhook import WebhookAttempt, WebhookDelivery, WebhookEvent

#: Events removed per transaction (each with its deliveries and attempts).
BATCH_SIZE = 500


@dataclass(frozen=True)
class WebhookPrune:
    """What a prune removed (or, with `dry_run`, would remove)."""

    events: int
    deliveries: int
    attempts: int


#: Model label -> the WebhookPrune field counting its rows.
_NAMES = {
    WebhookEvent._meta.label: "events",
    WebhookDelivery._meta.label: "deliveries",
    WebhookAttempt._meta.label: "attempts",
}


def prunable_events(
    days: int, now: dt.datetime | None = None
) -> QuerySet[WebhookEvent]:
    """Events older than `days` days whose deliveries are all finished
    before then; see the module docstring."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    recent_or_pending = WebhookDelivery.objects.filter(
        Q(status=WebhookDelivery.Status.PENDING)
        | Q(created_at__gte=cutoff)
        | Q(finished_at__gte=cutoff)
    ).values("event_id")
    return WebhookEvent.objects.filter(occurred_at__lt=cutoff).exclude(
        pk__in=recent_or_pending
    )


def prune_webhook_history(days: int, *, dry_run: bool = False) -> WebhookPrune:
    """Remove the prunable events with their deliveries and attempts, in
    batches of BATCH_SIZE events per transaction.

    Each batch locks its events first, then checks them again: a replay
    committed meanwhile keeps its event, and one that comes later waits for
    the lock and then finds the event gone (an error, never a delivery
    deleted unseen)."""
    if days < 1:
        raise ValueError(f"Webhook history is kept at least 1 day, not {days}.")
    now = timezone.now()
    if dry_run:
        events = prunable_events(days, now)
        return WebhookPrune(
            events=events.count(),
            deliveries=WebhookDelivery.objects.filter(event__in=events).count(),
            attempts=WebhookAttempt.objects.filter(delivery__event__in=events).count(),
        )
    removed = dict.fromkeys(_NAMES.values(), 0)
    while True:
        candidates = prunable_events(days, now).values_list("pk", flat=True)
        batch = list(candidates[:BATCH_SIZE])
        if not batch:
            return WebhookPrune(**removed)
        with transaction.atomic():
            locked = WebhookEvent.objects.select_for_update().filter(pk__in=batch)
            list(locked.values_list("pk", flat=True))
            _, by_model = prunable_events(days, now).filter(pk__in=batch).delete()
        for label, count in by_model.items():
            removed[_NAMES[label]] += count
