"""check_rate: within the limit, past it, and the documented choice while the
store is down (fail open by default, fail closed on request)."""

import logging

import pytest

from core.ratelimit.rates import (
    STORE_DOWN_RETRY_AFTER_SECONDS,
    RateDecision,
    check_rate,
)

pytestmark = pytest.mark.engine_independent


@pytest.mark.parametrize("backend", ["local", "redis"])
def test_requests_past_the_limit_are_refused_until_the_window_ends(request, backend):
    if backend == "redis":
        request.getfixturevalue("on_redis")

    decisions = [check_rate("rate:x", 2, 30, fail_open=True) for _ in range(3)]

    assert [d.allowed for d in decisions] == [True, True, False]
    assert [d.count for d in decisions] == [1, 2, 3]
    assert 29 <= decisions[-1].retry_after_seconds <= 30
    assert not any(d.degraded for d in decisions)


@pytest.mark.parametrize(("limit", "window"), [(0, 60), (5, 0)])
def test_a_limit_needs_positive_numbers(limit, window):
    with pytest.raises(ValueError, match="limit >= 1 and window_seconds >= 1"):
        check_rate("rate:x", limit, window, fail_open=True)


def test_with_redis_killed_the_policy_decides_and_says_so(faulty_redis, caplog):
    faulty_redis.stop()

    with caplog.at_level(logging.WARNING, logger="core.ratelimit.rates"):
        opened = check_rate("rate:x", 2, 30, fail_open=True)
        closed = check_rate("rate:x", 2, 30, fail_open=False)

    assert opened == RateDecision(True, 0, 2, 0, degraded=True)
    assert closed == RateDecision(
        False, 0, 2, STORE_DOWN_RETRY_AFTER_SECONDS, degraded=True
    )
    assert "rate limit rate:x not counted" in caplog.text
    assert "allowing the request" in caplog.text
    assert "refusing the request" in caplog.text
