"""What the Slack clients raise.

Each class says whether trying again later can help (`retryable`), so the job
that posts a message knows whether to retry or give up.
"""

#: Slack error codes that mean "Slack had a problem", not "your request is wrong".
TRANSIENT_ERROR_CODES = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


class SlackError(Exception):
    """A message could not be delivered to Slack. Base of the classes below."""

    retryable = False


class SlackRejected(SlackError):
    """Slack answered and refused the message; `code` is Slack's error code
    (e.g. "channel_not_found", "invalid_auth", "no_service")."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = code in TRANSIENT_ERROR_CODES


class SlackRateLimited(SlackError):
    """Slack asked us to wait `retry_after_seconds` before the next call, for
    longer than the client waits inline (or after its inline retries)."""

    retryable = True

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class SlackUnavailable(SlackError):
    """Slack could not be reached, did not answer in time, or failed (5xx)."""

    retryable = True
