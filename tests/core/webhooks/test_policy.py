"""What each attempt's result means: success, retry when, or fail."""

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from core.models.webhook import WebhookAttempt
from core.webhooks.policy import (
    MAX_RETRY_AFTER_SECONDS,
    judge,
    retry_delay_seconds,
)
from core.webhooks.sender import AttemptResult

pytestmark = pytest.mark.engine_independent

Outcome = WebhookAttempt.Outcome


def answer(status: int, retry_after: float | None = None) -> AttemptResult:
    return AttemptResult(
        started_at=timezone.now(),
        duration_ms=3,
        status_code=status,
        retry_after_seconds=retry_after,
    )


def error(name: str, *, retryable: bool = True) -> AttemptResult:
    return AttemptResult(
        started_at=timezone.now(),
        duration_ms=3,
        error_class=name,
        error_message="[Errno 111] Connection refused",
        retryable=retryable,
    )


@pytest.fixture
def schedule(settings: Any) -> Any:
    settings.WEBHOOK_RETRY_DELAYS_SECONDS = [5, 300, 1800, 7200, 18000, 36000]
    settings.WEBHOOK_MAX_ATTEMPTS = 7
    return settings


@pytest.mark.parametrize(
    ("attempt", "step"), [(1, 5), (2, 300), (6, 36000), (9, 36000)]
)
def test_each_retry_waits_the_next_step_plus_up_to_ten_percent(schedule, attempt, step):
    delays = [retry_delay_seconds(attempt) for _ in range(50)]

    assert all(step <= delay <= step * 1.1 for delay in delays)
    assert len(set(delays)) > 1  # jittered


def test_the_default_schedule_spans_most_of_a_day(schedule):
    total = sum(retry_delay_seconds(attempt) for attempt in range(1, 7))

    assert dt.timedelta(hours=17) < dt.timedelta(seconds=total) < dt.timedelta(hours=20)


def test_retry_after_is_honoured_when_longer_and_capped(schedule):
    assert retry_delay_seconds(1, retry_after_seconds=120) == 120
    assert 300 <= retry_delay_seconds(2, retry_after_seconds=1) <= 330
    assert retry_delay_seconds(1, retry_after_seconds=10**9) == MAX_RETRY_AFTER_SECONDS


def test_an_empty_schedule_retries_at_once(settings):
    settings.WEBHOOK_RETRY_DELAYS_SECONDS = []

    assert retry_delay_seconds(1) == 0


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_any_2xx_is_a_success(schedule, status):
    assert judge(answer(status), 1).outcome == Outcome.SUCCEEDED


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_timeouts_rate_limits_and_server_errors_are_retried(schedule, status):
    verdict = judge(answer(status), 1)

    assert verdict.outcome == Outcome.RETRY
    assert verdict.reason == f"HTTP {status}"
    assert verdict.retry_in_seconds is not None
    assert 5 <= verdict.retry_in_seconds <= 5.5


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirects_fail_at_once(schedule, status):
    verdict = judge(answer(status), 1)

    assert verdict.outcome == Outcome.FAILED
    assert "redirects are not followed; subscribe the final URL" in verdict.reason


@pytest.mark.parametrize("status", [100, 400, 403, 404, 413, 422])
def test_other_answers_fail_at_once(schedule, status):
    verdict = judge(answer(status), 1)

    assert (verdict.outcome, verdict.endpoint_gone) == (Outcome.FAILED, False)


def test_gone_fails_and_says_the_endpoint_is_gone(schedule):
    verdict = judge(answer(410), 1)

    assert (verdict.outcome, verdict.endpoint_gone) == (Outcome.FAILED, True)


def test_network_errors_are_retried_unless_retrying_cannot_help(schedule):
    assert judge(error("ConnectionRefusedError"), 1).outcome == Outcome.RETRY
    refused = judge(error("UnsafeWebhookURL", retryable=False), 1)
    assert refused.outcome == Outcome.FAILED
    assert refused.reason.startswith("UnsafeWebhookURL: ")


def test_the_last_attempt_fails_whatever_the_answer(schedule):
    verdict = judge(answer(503), 7)

    assert verdict.outcome == Outcome.FAILED
    assert verdict.reason == "HTTP 503; gave up after 7 attempt(s)"
