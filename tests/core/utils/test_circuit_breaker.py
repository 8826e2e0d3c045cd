"""The circuit breaker: opens after consecutive failures, lets one trial call
through after the reset time, closes on success."""

import pytest

from core.utils.circuit_breaker import BreakerState, CircuitBreaker

pytestmark = pytest.mark.engine_independent


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_it_opens_after_the_threshold_and_refuses_calls():
    breaker = CircuitBreaker(failure_threshold=2, reset_after_seconds=5, clock=Clock())

    breaker.record_failure()
    assert breaker.allow()
    breaker.record_failure()

    assert breaker.state == BreakerState.OPEN
    assert not breaker.allow()


def test_after_the_reset_time_one_trial_goes_through_and_success_closes_it():
    clock = Clock()
    closed = []
    breaker = CircuitBreaker(1, 5, on_close=lambda: closed.append(True), clock=clock)
    breaker.record_failure()

    clock.now = 5.0
    assert breaker.state == BreakerState.HALF_OPEN
    assert breaker.allow()
    assert not breaker.allow()  # only one trial at a time
    breaker.record_success()

    assert breaker.state == BreakerState.CLOSED
    assert closed == [True]


def test_a_failed_trial_opens_it_again_for_a_full_period():
    clock = Clock()
    breaker = CircuitBreaker(1, 5, clock=clock)
    breaker.record_failure()
    clock.now = 5.0
    assert breaker.allow()

    breaker.record_failure()

    assert breaker.state == BreakerState.OPEN
    clock.now = 9.9
    assert not breaker.allow()


def test_a_success_resets_the_count_of_failures():
    breaker = CircuitBreaker(failure_threshold=2, clock=Clock())

    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()

    assert breaker.state == BreakerState.CLOSED
