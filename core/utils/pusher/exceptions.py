"""What the Pusher clients raise.

Each class says whether trying again later can help (`retryable`), so the job
that triggers an event knows whether to retry or give up.
"""


class PusherError(Exception):
    """An event could not be sent, or a request could not be authorised."""

    retryable = False


class PusherPayloadTooLarge(PusherError, ValueError):
    """The event's data is over Pusher's per-event limit; send less (an id)."""


class InvalidChannelRequest(PusherError, ValueError):
    """A malformed channel name, socket id or event name."""


class PusherRejected(PusherError):
    """Pusher answered and refused the request (bad credentials, over quota,
    too large); `status` is the HTTP status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class PusherUnavailable(PusherError):
    """Pusher could not be reached, did not answer in time, or failed (5xx)."""

    retryable = True
