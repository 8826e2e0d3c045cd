"""Webhooks: labs' systems told of changes, signed, retried, never lost.

    from core.webhooks import WebhookEventsMixin, declare_webhook_event, emit_webhook

    REPORT_RELEASED = declare_webhook_event(
        "report.released", "A report was released to the patient and doctor."
    )

    def release_report(report):      # inside the release's transaction
        ...
        emit_webhook(report.lab_id, REPORT_RELEASED, {"report_id": report.pk})

A model that lists `WebhookEventsMixin` in its bases emits
`<model>.created|updated|deleted` from BaseModel's save and delete without
any code of its own (its `webhook_payload()` says what the event carries).

This package is the stateful subsystem; it sits above core's models (it
writes their webhook tables, core/models/webhook.py) and below the web
layer (README, "Layers"). The stateless rules it applies (event types,
addresses, signatures) are in core/utils/webhooks/.

- mixin.py: WebhookEventsMixin, the model feature;
- emission.py: recording an event and its deliveries in the transaction;
- delivery.py: the Fusion job, one attempt and its bookkeeping;
- sender.py: the HTTP POST; policy.py: retries and backoff;
- endpoint_health.py: disabling failing endpoints; replay.py: sending
  deliveries again; retention.py: pruning old events.
"""

from core.utils.webhooks import declare_webhook_event, known_event_types
from core.webhooks.emission import emit_webhook
from core.webhooks.mixin import WebhookEventsMixin

__all__ = [
    "WebhookEventsMixin",
    "declare_webhook_event",
    "emit_webhook",
    "known_event_types",
]
