"""Webhooks, the stateless part: event types and bodies (events.py), the
SSRF rules for target addresses (addresses.py, special_addresses.py) and
Standard Webhooks signatures (signing.py). Nothing here reads or writes a
table, so core's models (core/models/webhook.py) build on it.

Recording events and delivering them is the stateful subsystem in
core/webhooks/; its package is what domain apps import.
"""

from core.utils.webhooks.addresses import UnsafeWebhookURL, check_target, display_url
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
    "generate_secret",
    "known_event_types",
    "sign",
    "signature_headers",
]
