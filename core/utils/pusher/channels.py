"""Lab channels and the checks on what goes through them.

Every real-time event belongs to one lab and goes to that lab's private
channel, `private-lab-<lab_id>`. Private channels need a signature from our
server to subscribe (`/core/pusher/auth/`), which is given only for the
session's own lab, so one lab never receives another lab's events.
"""

import json
import re
from collections.abc import Mapping
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from pusher.util import validate_channel, validate_socket_id  # type: ignore[import-untyped]

from core.utils.pusher.exceptions import InvalidChannelRequest, PusherPayloadTooLarge

LAB_CHANNEL_PREFIX = "private-lab-"
#: Pusher's limit on one event's data, in bytes of UTF-8 (10 KB by default).
MAX_EVENT_DATA_BYTES = 10 * 1024
#: Pusher's limit on an event name, in characters.
MAX_EVENT_NAME_CHARACTERS = 200
#: The longest event id, in characters (a page keeps the ids it has seen).
MAX_EVENT_ID_CHARACTERS = 100
_LAB_ID = re.compile(r"\A[0-9]{1,18}\Z")
_EVENT_ID = re.compile(rf"\A[-_.:a-zA-Z0-9]{{1,{MAX_EVENT_ID_CHARACTERS}}}\Z")


def lab_channel(lab_id: int | str) -> str:
    """The private channel of a lab. Example: `lab_channel(12) == "private-lab-12"`."""
    text = str(lab_id).strip() if isinstance(lab_id, int | str) else ""
    if isinstance(lab_id, bool) or not _LAB_ID.match(text) or int(text) == 0:
        raise ValueError(f"A lab id is a positive whole number, not {lab_id!r}.")
    return f"{LAB_CHANNEL_PREFIX}{int(text)}"


def encode_event(event: str, data: Mapping[str, Any], event_id: str) -> str:
    """The event's data as Pusher will carry it: a JSON object holding
    `event_id` and `data`'s fields, after checking the name, the id and the
    size.

    Invariant: every event carries an `event_id` that is the same on every
    retry of the step that sends it (Pusher delivers at least once, and a
    step whose mark was lost sends again), so a page drops a repeated id
    (docs/realtime.md).

    Example: `encode_event("sample.updated", {"id": 7}, "sample-7-v3") ==
    '{"event_id":"sample-7-v3","id":7}'`.
    """
    if not isinstance(event, str) or not 0 < len(event) <= MAX_EVENT_NAME_CHARACTERS:
        raise InvalidChannelRequest(
            f"An event name is 1 to {MAX_EVENT_NAME_CHARACTERS} characters, such as "
            "'sample.updated'."
        )
    _check_event_id(event, event_id)
    if not isinstance(data, Mapping) or "event_id" in data:
        raise InvalidChannelRequest(
            f"Event {event!r} needs its data as a JSON object without an "
            "'event_id' field (the id is given as event_id=), such as {'id': 7}."
        )
    text = json.dumps(
        {"event_id": event_id, **data},
        cls=DjangoJSONEncoder,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    size = len(text.encode("utf-8"))
    if size > MAX_EVENT_DATA_BYTES:
        # Refused rather than split: Pusher delivers each part on its own, so a
        # page that subscribed mid-way or missed one part could not rebuild it.
        raise PusherPayloadTooLarge(
            f"Event {event!r} carries {size} bytes of data; Pusher takes at most "
            f"{MAX_EVENT_DATA_BYTES}. Send the record's id (and version) and let the "
            "page fetch the rest."
        )
    return text


def _check_event_id(event: str, event_id: object) -> None:
    """An event id is 1 to MAX_EVENT_ID_CHARACTERS letters, digits and
    `-_.:`, so a page can keep it as a key and a log line can quote it."""
    if not isinstance(event_id, str) or not _EVENT_ID.match(event_id):
        raise InvalidChannelRequest(
            f"Event {event!r} needs a stable event_id of 1 to "
            f"{MAX_EVENT_ID_CHARACTERS} letters, digits and -_.:, derived from "
            f"what it tells of (such as 'release-42.report.ready'), not {event_id!r}."
        )


def check_channel_request(channel: object, socket_id: object) -> tuple[str, str]:
    """`(channel, socket_id)` if both are well formed for Pusher, else
    `InvalidChannelRequest`. Example: `("private-lab-12", "1234.5678")`."""
    try:
        if not isinstance(channel, str) or not isinstance(socket_id, str):
            raise TypeError("not text")
        return validate_channel(channel), validate_socket_id(socket_id)
    except (TypeError, ValueError):
        raise InvalidChannelRequest(
            "A channel name is up to 200 letters, digits and -_=@,.; (such as "
            "'private-lab-12') and a socket id looks like '1234.5678'."
        ) from None
