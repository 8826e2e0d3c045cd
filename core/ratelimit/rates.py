"""Rate limits: at most `limit` requests per `window_seconds` per key.

`check_rate(key, limit, window_seconds)` counts one request and says whether
it may go on (`core.decorators.rate_limit` builds the key from the lab, the
user or the client IP). Counts live in the cache service's Redis when it has
one, else in process (`core.ratelimit.counters`).

When Redis is down the limit cannot be counted. The choice, documented and
tested: rate limits **fail open** by default (settings.RATE_LIMIT_FAIL_OPEN =
True): a limit protects the service from abuse, and an outage of the store
that counts must not turn into an outage of every limited endpoint. A view
whose limit matters more than its availability passes `fail_open=False` and
answers 503 while the store is down. Either way the outage is logged, and
the cache's circuit breaker keeps each request from waiting on a dead Redis
for more than the first few requests. (Sign-in throttling makes the opposite
choice; see `core.auth.throttle`.)
"""

import logging
from dataclasses import dataclass

from core.cache.shared_redis import StoreUnavailable
from core.ratelimit.counters import counter_store

logger = logging.getLogger(__name__)

#: Retry-After of a refusal while the store is down (fail closed): about the
#: cache breaker's default reset time, after which Redis is tried again.
STORE_DOWN_RETRY_AFTER_SECONDS = 5


@dataclass(frozen=True)
class RateDecision:
    """The outcome of one `check_rate`.

    `degraded` is True when the store could not be used and the decision is
    the fail-open / fail-closed policy's, not a count. Example:
    `RateDecision(allowed=False, count=6, limit=5, retry_after_seconds=41,
    degraded=False)`.
    """

    allowed: bool
    count: int
    limit: int
    retry_after_seconds: int
    degraded: bool = False


def check_rate(
    key: str, limit: int, window_seconds: int, *, fail_open: bool
) -> RateDecision:
    """Count one request on `key` and decide whether it is within the limit.

    `key` names what is limited and for whom, e.g. "rate:lab:3:reports.list";
    callers put the lab id, user id or IP in it.
    """
    if limit < 1 or window_seconds < 1:
        raise ValueError(
            f"A rate limit needs limit >= 1 and window_seconds >= 1; got "
            f"{limit} per {window_seconds} s."
        )
    try:
        count = counter_store().hit(key, window_seconds)
    except StoreUnavailable as exc:
        logger.warning(
            "rate limit %s not counted (%s); %s",
            key,
            exc,
            "allowing the request" if fail_open else "refusing the request",
        )
        retry_after = 0 if fail_open else STORE_DOWN_RETRY_AFTER_SECONDS
        return RateDecision(fail_open, 0, limit, retry_after, degraded=True)
    return RateDecision(
        allowed=count.hits <= limit,
        count=count.hits,
        limit=limit,
        retry_after_seconds=count.retry_after_seconds,
    )
