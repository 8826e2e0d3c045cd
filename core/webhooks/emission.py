"""Recording webhook events, in the transaction of the change they tell of.

An event is written, with one delivery per active endpoint of the record's
lab that subscribes to its type, and each delivery's job is enqueued, all
inside the caller's transaction: a rolled-back change leaves no event and
no job, a committed one always has both (a transactional outbox, on either
Fusion engine). Nothing is sent before the commit.

Only the lab that owns the record is told; a parent lab that wants its
children's events subscribes in each child. When the lab has no endpoint
for the type, nothing is written: one indexed query, and done.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from core.models.webhook import WebhookDelivery, WebhookEndpoint, WebhookEvent
from core.utils.webhooks.events import (
    event_body,
    known_event_types,
    model_event_type,
    new_message_id,
    subscribed,
)
from core.webhooks.delivery import schedule_delivery

if TYPE_CHECKING:
    from core.webhooks.mixin import WebhookEventsMixin


def emit_webhook(
    lab_id: int,
    event_type: str,
    data: Mapping[str, Any],
    *,
    version: int = 1,
    model_label: str = "",
    object_id: Any = "",
) -> WebhookEvent | None:
    """Record a domain event for `lab_id`'s subscribers and enqueue its
    deliveries, in the current transaction (see the module docstring).

    `event_type` must be declared (`declare_webhook_event`); `data` becomes
    the body's `data` (JSON values; dates, decimals and UUIDs as strings);
    `version` is its schema version. `model_label` / `object_id` name the
    record it is about, for operators. Returns the event, or None when no
    endpoint of the lab wants it.

    Example, in the sample app's release job (patients/release.py), in the
    transaction that marks the step done: `emit_webhook(report.lab_id,
    "report.released", {"report_id": report.pk, "edition": 2, ...},
    model_label="patients.report", object_id=str(report.pk))`.
    """
    if event_type not in known_event_types():
        raise ValueError(
            f"{event_type!r} is not a declared webhook event type; declare it "
            "with core.utils.webhooks.declare_webhook_event() where the app's "
            "models are defined."
        )
    return _record(
        lab_id,
        event_type,
        data,
        version=version,
        model_label=model_label,
        object_id=str(object_id),
    )


def record_model_change(
    instance: WebhookEventsMixin, action: str, changed_fields: Collection[str] = ()
) -> WebhookEvent | None:
    """The `<model>.created|updated|deleted` event of a save or delete of a
    `webhook_enabled` model; called by BaseModel inside its transaction.

    `data` is `{"object": instance.webhook_payload()}`, plus
    `"changed_fields"` (names only) for an update.
    """
    model = type(instance)
    if not any(f.attname == "lab_id" for f in model._meta.concrete_fields):
        raise TypeError(
            f"{model.__name__} has webhook_enabled = True but no lab: webhooks "
            "are subscribed per lab, so the model needs LabScopedMixin."
        )
    data: dict[str, Any] = {"object": instance.webhook_payload()}
    if action == "update":
        data["changed_fields"] = sorted(changed_fields)
    return _record(
        instance.__dict__["lab_id"],
        model_event_type(model, action),
        data,
        version=model.webhook_payload_version,
        model_label=model._meta.label_lower,
        object_id=str(instance.pk),
    )


def _record(
    lab_id: int,
    event_type: str,
    data: Mapping[str, Any],
    *,
    version: int,
    model_label: str,
    object_id: str,
) -> WebhookEvent | None:
    candidates = WebhookEndpoint.objects.filter(lab_id=lab_id, is_active=True)
    endpoint_ids = [
        endpoint_id
        for endpoint_id, events in candidates.values_list("id", "events")
        if subscribed(events or [], event_type)
    ]
    if not endpoint_ids:
        return None
    now = timezone.now()
    message_id = new_message_id()
    body = event_body(
        message_id=message_id,
        event_type=event_type,
        version=version,
        occurred_at=now,
        lab_id=lab_id,
        data=data,
    )
    # No savepoint: inside the caller's transaction a failure here fails
    # the whole change anyway; in autocommit this makes it one transaction.
    with transaction.atomic(savepoint=False):
        event = WebhookEvent.objects.create(
            id=message_id,
            lab_id=lab_id,
            event_type=event_type,
            version=version,
            body=body,
            model_label=model_label,
            object_id=object_id[:64],
            occurred_at=now,
        )
        for endpoint_id in sorted(endpoint_ids):
            delivery = WebhookDelivery.objects.create(
                event=event, endpoint_id=endpoint_id, next_attempt_at=now
            )
            schedule_delivery(delivery.pk)
    return event
