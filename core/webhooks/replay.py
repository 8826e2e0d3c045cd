"""Replaying deliveries: the same event (same id, same body) sent again.

A replay is a new delivery of the original's event to the same endpoint,
pointing back at it (`replay_of`), with a fresh retry schedule; the
original and its attempts stay as they were, for the record. Replays are
activity-logged on the endpoint, attributed to whoever is acting (the
admin user, or the command's actor).
"""

from django.db import transaction
from django.utils import timezone

from core.models.activity_log_base import write_entry
from core.models.webhook import WebhookDelivery, WebhookEndpoint
from core.webhooks.delivery import schedule_delivery

#: Statuses a replay of every failed delivery picks up.
REPLAYABLE = (WebhookDelivery.Status.FAILED, WebhookDelivery.Status.ABANDONED)


class ReplayRefused(Exception):
    """A replay that cannot be done now; the message says why and what to do."""


def replay_delivery(delivery: WebhookDelivery) -> WebhookDelivery:
    """Send `delivery`'s event to its endpoint again; returns the new,
    pending delivery. Refused for a delivery still pending and for a
    disabled endpoint."""
    if delivery.status == WebhookDelivery.Status.PENDING:
        raise ReplayRefused(
            f"Delivery {delivery.pk} is still pending (next attempt at "
            f"{delivery.next_attempt_at:%Y-%m-%d %H:%M:%S} UTC); it needs no replay."
        )
    endpoint = delivery.endpoint
    _check_active(endpoint)
    with transaction.atomic():
        replay = _replay(delivery)
        _log(
            endpoint,
            f"Delivery {delivery.pk} ({delivery.event.event_type} "
            f"{delivery.event_id}) replayed as delivery {replay.pk}",
        )
    return replay


def replay_failed(endpoint: WebhookEndpoint) -> list[WebhookDelivery]:
    """Replay every failed or abandoned delivery of `endpoint` not replayed
    yet, oldest first; returns the new deliveries."""
    _check_active(endpoint)
    failed = (
        endpoint.deliveries.filter(status__in=REPLAYABLE, replays__isnull=True)
        .select_related("event")
        .order_by("created_at", "id")
    )
    with transaction.atomic():
        replays = [_replay(delivery) for delivery in failed]
        if replays:
            _log(endpoint, f"{len(replays)} failed delivery(ies) replayed")
    return replays


def _check_active(endpoint: WebhookEndpoint) -> None:
    if not endpoint.is_active:
        raise ReplayRefused(
            f"Endpoint {endpoint.pk} is disabled "
            f"({endpoint.disabled_reason or 'by hand'}); enable it first, once its "
            "receiver works again."
        )


def _replay(delivery: WebhookDelivery) -> WebhookDelivery:
    replay = WebhookDelivery.objects.create(
        event_id=delivery.event_id,
        endpoint_id=delivery.endpoint_id,
        replay_of=delivery,
        next_attempt_at=timezone.now(),
    )
    schedule_delivery(replay.pk)
    return replay


def _log(endpoint: WebhookEndpoint, message: str) -> None:
    write_entry(
        lab_id=endpoint.lab_id,
        model_label=endpoint._meta.label_lower,
        instance_id=endpoint.pk,
        action="replay",
        message=message,
    )
