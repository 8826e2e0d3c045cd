"""Inline retry of Slack's 429 answers, bounded in how long it may wait.

slack_sdk's `RateLimitErrorRetryHandler` sleeps for whatever Retry-After
says. A job worker should not sleep for minutes inside one job, so this one
retries only when the wait is at most `max_wait_seconds`; a longer wait
reaches the caller as `SlackRateLimited` carrying the wait, and the job queue
schedules the retry.
"""

from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

#: Used when a 429 carries no (readable) Retry-After header, as Slack's docs
#: suggest waiting about a minute in that case.
DEFAULT_RETRY_AFTER_SECONDS = 60


def retry_after_seconds(headers: dict[str, object]) -> int:
    """Retry-After from response headers (values may be lists), in seconds.

    Example: `retry_after_seconds({"Retry-After": ["3"]}) == 3`.
    """
    for name, value in headers.items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) and value else value
            try:
                return max(0, int(str(raw)))
            except ValueError:
                break
    return DEFAULT_RETRY_AFTER_SECONDS


class BoundedRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """Retry a 429 after Retry-After seconds, if that is <= `max_wait_seconds`."""

    def __init__(self, max_retry_count: int, max_wait_seconds: int) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait_seconds = max_wait_seconds

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        wait = retry_after_seconds(dict(response.headers))
        return wait <= self.max_wait_seconds
