"""Delivering undelivered invalidations without waiting for traffic.

When an invalidation cannot reach Redis, the process records the hash in the
database (`PendingCacheInvalidation`); until that hash is dropped, every
process that reads it from Redis gets the row as it was before the commit.
Waiting for the next cache call to drop it is not enough: the process that
saw the outage may go idle, and the others never saw it. So the process that
recorded it keeps trying in a background thread, every
`PENDING_RETRY_INTERVAL_SECONDS`, until nothing is pending: the stale window
after Redis answers again is one interval plus one drain, for every process.

Invariants:
- at most one retry thread per `PendingRetrier` (per cache client) at a time;
- a `notify()` made while the thread is deciding to stop is never lost: the
  thread only stops under the lock, when no notify came since its last try;
- the thread is a daemon, closes its own database connection when it stops,
  and stops when `stop()` is called (the client is closed).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from django.db import connections

__all__ = ["PENDING_RETRY_INTERVAL_SECONDS", "PendingRetrier"]

logger = logging.getLogger(__name__)

#: How long the retry thread waits between attempts. One attempt during an
#: outage costs at most one socket timeout, in the background.
PENDING_RETRY_INTERVAL_SECONDS = 0.25


class PendingRetrier:
    """Calls `attempt()` every `interval_seconds` in a daemon thread, from
    the first `notify()` until an attempt returns True (all delivered) with
    no `notify()` since it began. `attempt` must not raise for an outage (it
    returns False); any exception is logged and counts as False."""

    def __init__(
        self,
        attempt: Callable[[], bool],
        interval_seconds: float = PENDING_RETRY_INTERVAL_SECONDS,
    ) -> None:
        self._attempt = attempt
        self._interval_seconds = interval_seconds
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._wanted = False
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Whether the retry thread is alive."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def notify(self) -> None:
        """Something is pending: make sure the thread is (still) trying."""
        with self._lock:
            self._wanted = True
            if self._stopped.is_set() or self.running:
                return
            self._thread = threading.Thread(
                target=self._run, name="cache-pending-retry", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop trying (the cache client is closed); idempotent."""
        self._stopped.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5 * self._interval_seconds + 1)

    def _run(self) -> None:
        try:
            while not self._stopped.wait(self._interval_seconds):
                with self._lock:
                    self._wanted = False
                if self._try_once():
                    with self._lock:
                        if not self._wanted:
                            self._thread = None
                            return
        finally:
            # This thread's own connection (Django's are per thread).
            connections.close_all()

    def _try_once(self) -> bool:
        try:
            return self._attempt()
        except Exception:  # a bug must not kill the thread silently
            logger.exception("retrying undelivered cache invalidations failed")
            return False
