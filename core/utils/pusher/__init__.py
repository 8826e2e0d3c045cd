"""Real-time updates: `get_client("pusher")` is a `PusherClient` (the pusher
SDK) or, by default, a `LogPusherClient`; lab channels and their checks are in
`core.utils.pusher.channels`, the front end's auth endpoint in
`core.pusher_view`."""

from core.utils.pusher.channels import (
    LAB_CHANNEL_PREFIX,
    MAX_EVENT_DATA_BYTES,
    lab_channel,
)
from core.utils.pusher.client import LogPusherClient, PusherClient
from core.utils.pusher.exceptions import (
    InvalidChannelRequest,
    PusherError,
    PusherPayloadTooLarge,
    PusherRejected,
    PusherUnavailable,
)

__all__ = [
    "LAB_CHANNEL_PREFIX",
    "MAX_EVENT_DATA_BYTES",
    "InvalidChannelRequest",
    "LogPusherClient",
    "PusherClient",
    "PusherError",
    "PusherPayloadTooLarge",
    "PusherRejected",
    "PusherUnavailable",
    "lab_channel",
]
