"""The retry thread of undelivered invalidations (core/cache/retry.py):
it keeps trying until an attempt succeeds, never loses a notify, and stops
with its client."""

import threading
import time

from core.cache.retry import PendingRetrier

INTERVAL_SECONDS = 0.02
WAIT_SECONDS = 5.0


def wait_until(condition, seconds: float = WAIT_SECONDS) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return False


class Deliveries:
    """An attempt that fails `failures` times, then succeeds; counts calls."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self) -> bool:
        with self.lock:
            self.calls += 1
            return self.calls > self.failures


def test_it_retries_until_an_attempt_succeeds_then_stops():
    attempt = Deliveries(failures=3)
    retrier = PendingRetrier(attempt, INTERVAL_SECONDS)

    retrier.notify()

    assert wait_until(lambda: not retrier.running)
    assert attempt.calls == 4  # three failures, one success, no more


def test_an_exception_counts_as_a_failed_attempt_not_a_dead_thread():
    calls = []

    def attempt() -> bool:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("a bug in the attempt")
        return True

    retrier = PendingRetrier(attempt, INTERVAL_SECONDS)
    retrier.notify()

    assert wait_until(lambda: not retrier.running)
    assert len(calls) == 2


def test_a_notify_during_an_attempt_gets_another_attempt():
    started, release = threading.Event(), threading.Event()
    calls = []

    def attempt() -> bool:
        calls.append(1)
        if len(calls) == 1:
            started.set()
            release.wait(WAIT_SECONDS)
        return True

    retrier = PendingRetrier(attempt, INTERVAL_SECONDS)
    retrier.notify()
    assert started.wait(WAIT_SECONDS)
    retrier.notify()  # recorded while the first attempt runs
    release.set()

    assert wait_until(lambda: not retrier.running)
    assert len(calls) == 2


def test_after_it_stopped_a_new_notify_starts_it_again():
    attempt = Deliveries(failures=0)
    retrier = PendingRetrier(attempt, INTERVAL_SECONDS)
    retrier.notify()
    assert wait_until(lambda: not retrier.running)

    retrier.notify()

    assert wait_until(lambda: attempt.calls == 2 and not retrier.running)


def test_stop_ends_a_thread_that_is_still_failing():
    attempt = Deliveries(failures=10**9)
    retrier = PendingRetrier(attempt, INTERVAL_SECONDS)
    retrier.notify()
    assert wait_until(lambda: attempt.calls >= 2)

    retrier.stop()

    assert not retrier.running
    calls = attempt.calls
    retrier.notify()  # a closed client's retrier does not start again
    time.sleep(5 * INTERVAL_SECONDS)
    assert attempt.calls == calls
