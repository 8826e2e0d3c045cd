"""Webhooks: labs' systems told of changes, signed, retried, never lost.

    from core.utils.webhooks import declare_webhook_event, emit_webhook

    REPORT_RELEASED = declare_webhook_event(
        "report.released", "A report was released to the patient and doctor."
    )

    def release(self, ...):          # inside the release's transaction
        ...
        emit_webhook(self.lab_id, REPORT_RELEASED, {"report_id": self.pk})

Models with `webhook_enabled = True` emit `<model>.created|updated|deleted`
from BaseModel's save and delete without any code of their own (their
`webhook_payload()` says what the event carries).

- events.py: event types, ids and the body's shape;
- emission.py: recording an event and its deliveries in the transaction;
- delivery.py: the Fusion job, one attempt and its bookkeeping;
- sender.py / addresses.py / signing.py: the HTTP POST, the SSRF rules,
  Standard Webhooks signatures;
- policy.py: retries and backoff; endpoint_health.py: disabling failing
  endpoints; replay.py: sending deliveries again.

Models are in core/models/webhook.py. The delivery machinery is imported
from its modules (not re-exported here), so that this package can be
imported while the models are loading.
"""

from core.utils.webhooks.addresses import UnsafeWebhookURL, check_target, display_url
from core.utils.webhooks.emission import emit_webhook
from core.utils.webhooks.events import (
    ALL_EVENTS,
    declare_webhook_event,
    known_event_types,
)
from core.utils.webhooks.signing import generate_secret, sign, signature_headers

__all__ = [
    "ALL_EVENTS",
    "UnsafeWebhookURL",
    "check_target",
    "declare_webhook_event",
    "display_url",
    "emit_webhook",
    "generate_secret",
    "known_event_types",
    "sign",
    "signature_headers",
]
