"""Webhook event types, event ids and the JSON body every delivery carries.

Event types are `<noun>.<verb>` names in lower case, e.g. `patient.created`
or `report.released`. They come from two places:

- every model with `webhook_enabled = True` has `<model>.created`,
  `<model>.updated` and `<model>.deleted` (model = its lower-case class
  name), emitted by BaseModel's save and delete;
- a domain app declares its own with `declare_webhook_event(...)` at import
  time (module level of its models or `AppConfig.ready()`), and emits them
  with `emit_webhook(...)` (emission.py) where the change happens.

A subscription lists the types it wants, or `"*"` for all of them.

Every event's body (the exact bytes sent, and signed, on every attempt):

    {"id": "msg_01JD9...", "type": "patient.updated", "version": 1,
     "timestamp": "2026-01-01T10:00:00.123456Z", "lab_id": 3,
     "data": {...}}

`id` is the event's id, also sent as the `webhook-id` header and the same
on every retry and replay; `version` is the schema version of `data` for
that type (bumped when `data` changes incompatibly); `timestamp` is when the
change happened (UTC). For model events, `data` is
`{"object": <the model's webhook_payload()>, "changed_fields": [...]}`
(`changed_fields`, names only, on updates).
"""

import datetime as dt
import json
import os
import re
import time
from collections.abc import Iterable, Mapping
from typing import Any

from django.apps import apps
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

#: `patient.created`, `report.released`, `sample.result_entered`...
EVENT_TYPE_FORMAT = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
#: A subscription to this receives every event type.
ALL_EVENTS = "*"
MODEL_ACTIONS = {"create": "created", "update": "updated", "delete": "deleted"}
MESSAGE_ID_PREFIX = "msg_"
#: Largest body sent; a bigger payload is a bug in the model's
#: `webhook_payload()` (send ids, and let the receiver fetch the rest).
MAX_BODY_BYTES = 256 * 1024
_CROCKFORD_BASE32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

_DECLARED: dict[str, str] = {}


def declare_webhook_event(event_type: str, description: str = "") -> str:
    """Make `event_type` subscribable and emittable; returns it, so it can
    be kept in a constant. Declaring the same type twice is harmless.

    Example: `REPORT_RELEASED = declare_webhook_event("report.released",
    "A report was released to the patient and doctor.")`.
    """
    if not EVENT_TYPE_FORMAT.match(event_type):
        raise ValueError(
            f"{event_type!r} is not an event type; use lower-case "
            "'<noun>.<verb>' such as 'report.released'."
        )
    _DECLARED[event_type] = description or _DECLARED.get(event_type, "")
    return event_type


def model_event_type(model: type[models.Model], action: str) -> str:
    """The event type of `action` ("create", "update", "delete") on `model`.

    Example: `model_event_type(Patient, "create")` -> `"patient.created"`.
    """
    concrete = model._meta.concrete_model or model
    return f"{concrete._meta.model_name}.{MODEL_ACTIONS[action]}"


def known_event_types() -> dict[str, str]:
    """Every event type a lab can subscribe to, with its description,
    sorted by name.

    Example: `{"patient.created": "A patient was created.", ...,
    "report.released": "A report was released..."}`.
    """
    known = dict(_DECLARED)
    for model in apps.get_models():
        if getattr(model, "webhook_enabled", False) and not model._meta.proxy:
            noun = model._meta.verbose_name
            for action, verb in MODEL_ACTIONS.items():
                known[model_event_type(model, action)] = f"A {noun} was {verb}."
    return dict(sorted(known.items()))


def normalise_subscription(events: Any) -> list[str]:
    """`events` as stored on a subscription: a sorted list of known event
    types without duplicates, or `["*"]`. Raises ValueError naming each
    unknown type and listing the known ones."""
    if not isinstance(events, list | tuple) or not events:
        raise ValueError(
            'List the event types to receive, e.g. ["patient.created"], or ["*"] '
            "for all of them."
        )
    wanted = {str(event).strip() for event in events}
    if ALL_EVENTS in wanted:
        return [ALL_EVENTS]
    known = known_event_types()
    unknown = sorted(wanted - set(known))
    if unknown:
        raise ValueError(
            f"Unknown event type(s): {', '.join(unknown)}. Known types: "
            f"{', '.join(known)}, or * for all."
        )
    return sorted(wanted)


def subscribed(events: Iterable[str], event_type: str) -> bool:
    """Whether a subscription to `events` receives `event_type`."""
    return any(event in (ALL_EVENTS, event_type) for event in events)


def new_message_id(now: float | None = None) -> str:
    """A new event id: `msg_` and a ULID (26 characters, sortable by time).

    Example: `new_message_id()` -> `"msg_01JD9Z3Q6M7V2W8XKQY4T5R1AB"`.
    """
    milliseconds = int((time.time() if now is None else now) * 1000)
    value = (milliseconds << 80) | int.from_bytes(os.urandom(10))
    digits = []
    for _ in range(26):
        digits.append(_CROCKFORD_BASE32[value & 31])
        value >>= 5
    return MESSAGE_ID_PREFIX + "".join(reversed(digits))


def event_body(
    *,
    message_id: str,
    event_type: str,
    version: int,
    occurred_at: dt.datetime,
    lab_id: int,
    data: Mapping[str, Any],
) -> str:
    """The JSON body of an event (see the module docstring), serialised
    once: every attempt sends these exact bytes. Dates, decimals and UUIDs
    become strings. Raises ValueError when it is over MAX_BODY_BYTES."""
    envelope = {
        "id": message_id,
        "type": event_type,
        "version": version,
        "timestamp": utc_timestamp(occurred_at),
        "lab_id": lab_id,
        "data": dict(data),
    }
    body = json.dumps(envelope, cls=DjangoJSONEncoder, separators=(",", ":"))
    if len(body) > MAX_BODY_BYTES:
        raise ValueError(
            f"The {event_type} webhook body would be {len(body)} bytes; at most "
            f"{MAX_BODY_BYTES} are sent. Put ids in the payload, not documents."
        )
    return body


def utc_timestamp(moment: dt.datetime) -> str:
    """`moment` in UTC as RFC 3339 with microseconds and a `Z`.

    Example: `"2026-01-01T10:00:00.123456Z"`.
    """
    utc = moment.astimezone(dt.UTC)
    return utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
