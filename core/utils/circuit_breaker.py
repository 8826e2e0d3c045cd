"""A circuit breaker: stop calling a service that keeps failing, for a while.

Without it, every request during an outage would wait for its own timeout.
After `failure_threshold` consecutive failures the breaker opens: calls are
refused at once (`allow()` is False) for `reset_after_seconds`. Then one
trial call is let through (half-open); its success closes the breaker, its
failure opens it again.
"""

import threading
import time
from collections.abc import Callable
from enum import StrEnum


class BreakerState(StrEnum):
    """Where the breaker stands; shown by the health endpoint."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Thread-safe consecutive-failure breaker.

    `on_close` is called (outside the lock) when the breaker closes after
    having been open, so the owner can catch up on what it skipped.
    """

    def __init__(
        self,
        failure_threshold: int = 3,
        reset_after_seconds: float = 5.0,
        on_close: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.reset_after_seconds = reset_after_seconds
        self._on_close = on_close
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_in_flight = False

    @property
    def state(self) -> BreakerState:
        """CLOSED, OPEN, or HALF_OPEN (open, but due for a trial call)."""
        with self._lock:
            return self._state_locked()

    def _state_locked(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock() - self._opened_at >= self.reset_after_seconds:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def allow(self) -> bool:
        """Whether a call may go to the service now."""
        if self._opened_at is None:  # the hot path: closed, no lock needed
            return True
        with self._lock:
            state = self._state_locked()
            if state is BreakerState.CLOSED:
                return True
            if state is BreakerState.HALF_OPEN and not self._trial_in_flight:
                self._trial_in_flight = True
                return True
            return False

    def record_success(self) -> None:
        """A call succeeded: close the breaker."""
        if self._opened_at is None and not self._failures:
            return  # the hot path: nothing to reset
        with self._lock:
            was_open = self._opened_at is not None
            self._failures = 0
            self._opened_at = None
            self._trial_in_flight = False
        if was_open and self._on_close is not None:
            self._on_close()

    def record_failure(self) -> None:
        """A call failed: count it, and open (or re-open) the breaker."""
        with self._lock:
            self._failures += 1
            self._trial_in_flight = False
            if self._opened_at is not None or self._failures >= self.failure_threshold:
                self._opened_at = self._clock()
