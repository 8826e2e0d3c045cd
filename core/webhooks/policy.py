"""What an attempt's result means for its delivery: done, retry when, or give up.

- a 2xx answer: delivered;
- no answer (refused, reset, timeout, DNS or TLS failure), 408, 429 and 5xx:
  retried, after the next step of settings.WEBHOOK_RETRY_DELAYS_SECONDS
  (default 5 s, 5 min, 30 min, 2 h, 5 h, 10 h: about 17.6 hours over the
  default 7 attempts, plus up to 10 % jitter so deliveries that failed
  together do not retry together), or later if the answer's Retry-After
  asks (at most MAX_RETRY_AFTER_SECONDS);
- any other answer (other 4xx, and 3xx: redirects are not followed) and a
  URL that now breaks the address rules: failed at once, retrying would get
  the same answer. 410 Gone also disables the endpoint (the receiver says
  it no longer exists);
- a retryable result on the last allowed attempt (settings.
  WEBHOOK_MAX_ATTEMPTS): failed.
"""

import random
from dataclasses import dataclass

from django.conf import settings

from core.models.webhook import WebhookAttempt
from core.webhooks.sender import AttemptResult

#: Retried answers besides 5xx.
RETRYABLE_STATUSES = frozenset({408, 429})
GONE_STATUS = 410
#: Longest wait a Retry-After header can impose (a receiver asking for a
#: week would otherwise park the delivery past every operator's attention).
MAX_RETRY_AFTER_SECONDS = 12 * 3600
#: Random extra wait, as a fraction of the scheduled delay.
JITTER_FRACTION = 0.1


@dataclass(frozen=True)
class Verdict:
    """What to do after an attempt. `retry_in_seconds` is set for a retry;
    `reason` is the short description stored on the delivery (no secrets)."""

    outcome: WebhookAttempt.Outcome
    reason: str
    retry_in_seconds: float | None = None
    endpoint_gone: bool = False


def judge(result: AttemptResult, attempt: int) -> Verdict:
    """The verdict on attempt number `attempt` (1-based) of a delivery."""
    if result.succeeded:
        return Verdict(WebhookAttempt.Outcome.SUCCEEDED, f"HTTP {result.status_code}")
    reason, retryable = _describe(result)
    if not retryable:
        return Verdict(
            WebhookAttempt.Outcome.FAILED,
            reason,
            endpoint_gone=result.status_code == GONE_STATUS,
        )
    max_attempts = settings.WEBHOOK_MAX_ATTEMPTS
    if attempt >= max_attempts:
        return Verdict(
            WebhookAttempt.Outcome.FAILED,
            f"{reason}; gave up after {attempt} attempt(s)",
        )
    delay = retry_delay_seconds(attempt, result.retry_after_seconds)
    return Verdict(WebhookAttempt.Outcome.RETRY, reason, retry_in_seconds=delay)


def _describe(result: AttemptResult) -> tuple[str, bool]:
    """(reason, retryable) of a result that is not a success."""
    status = result.status_code
    if status is None:
        return f"{result.error_class}: {result.error_message}", result.retryable
    if 300 <= status < 400:
        return (
            f"HTTP {status}: the receiver redirects, and redirects are not "
            "followed; subscribe the final URL",
            False,
        )
    if status == GONE_STATUS:
        return f"HTTP {status}: the receiver says this endpoint is gone", False
    return f"HTTP {status}", status in RETRYABLE_STATUSES or status >= 500


def retry_delay_seconds(
    attempt: int, retry_after_seconds: float | None = None
) -> float:
    """Seconds to wait after failed attempt `attempt` (1-based): the
    schedule's step (its last step for later attempts) plus jitter, or the
    receiver's Retry-After if that is longer (capped).

    Example (default schedule): attempt 1 -> 5..5.5, attempt 3 -> 1800..1980.
    """
    schedule = [float(step) for step in settings.WEBHOOK_RETRY_DELAYS_SECONDS]
    step = schedule[min(max(attempt, 1), len(schedule)) - 1] if schedule else 0.0
    delay = step + random.uniform(0, step * JITTER_FRACTION)  # noqa: S311 - not crypto
    if retry_after_seconds is not None:
        delay = max(delay, min(retry_after_seconds, MAX_RETRY_AFTER_SECONDS))
    return delay
