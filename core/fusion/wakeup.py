"""Waking idle database workers: LISTEN/NOTIFY on PostgreSQL, a poll elsewhere.

Inserting a job that is due now sends `NOTIFY` on the backend's channel
(`channel_for`, payload: the queue name) from a trigger on the jobs table
(migration core 0023), in the inserting transaction: PostgreSQL delivers it
only when that transaction commits, so a rolled-back enqueue wakes nobody,
and identical notifications of one transaction arrive once.

An idle worker waits in `Waker.wait`: on PostgreSQL (`ListeningWaker`) on a
connection of its own that LISTENs to the channel, returning as soon as a
notification for one of its queues arrives, or after the poll interval,
which stays the fallback (deferred jobs and retries become due without a
notification; a notification sent while the listening connection was down
is lost). Notifications that arrive while the worker is busy wait in that
connection and make the next `wait` return at once: none is missed between
an empty claim and the wait. On SQLite (no NOTIFY) `Waker` just sleeps.
"""

import logging
import time
from typing import Any

import psycopg
from django.db import connections
from psycopg import sql

logger = logging.getLogger(__name__)

#: Seconds before a broken listening connection is opened again; meanwhile
#: the worker polls.
RECONNECT_PAUSE_SECONDS = 5.0


def channel_for(alias: str) -> str:
    """The NOTIFY channel of the backend `alias`, e.g. "fusion.default"; the
    trigger of migration core 0023 builds the same name."""
    return f"fusion.{alias}"[:63]


class Waker:
    """What an idle worker waits on: here, the poll interval alone."""

    def listen(self) -> bool:
        """Start listening before the first claim (so no wake-up is missed
        after it); True if notifications will wake `wait`."""
        return False

    def wait(self, timeout: float) -> bool:
        """Block up to `timeout` seconds; True if woken by a notification."""
        if timeout > 0:
            time.sleep(timeout)
        return False

    def close(self) -> None:
        """Release what the waker holds (nothing here)."""


class ListeningWaker(Waker):
    """Waits on a dedicated autocommit psycopg connection that LISTENs to the
    backend's channel (psycopg's public `Connection.notifies()`), like
    Procrastinate's worker. Notifications for queues the worker does not
    run are ignored (`queue_names` None: it runs every queue)."""

    def __init__(self, alias: str, using: str, queue_names: set[str] | None) -> None:
        self.channel = channel_for(alias)
        self.using = using
        self.queue_names = queue_names
        self._connection: psycopg.Connection[Any] | None = None
        self._retry_at = 0.0

    def listen(self) -> bool:
        """See `Waker.listen`: False while the connection cannot be opened
        (the worker then polls, and `wait` tries again later)."""
        return self._connect() is not None

    def _connect(self) -> psycopg.Connection[Any] | None:
        if self._connection is not None and not self._connection.closed:
            return self._connection
        if time.monotonic() < self._retry_at:
            return None
        params = connections[self.using].get_connection_params()
        # Django's cursor class and adapters belong to its own connections.
        for key in ("cursor_factory", "context"):
            params.pop(key, None)
        try:
            connection = psycopg.connect(**params, autocommit=True)
            connection.execute(
                sql.SQL("LISTEN {}").format(sql.Identifier(self.channel))
            )
        except psycopg.Error as exc:
            self._broken(exc)
            return None
        self._connection = connection
        return connection

    def _broken(self, exc: BaseException) -> None:
        logger.warning(
            "fusion: cannot listen for new jobs (%s: %s); polling every interval "
            "and trying again in %g s",
            type(exc).__name__,
            str(exc)[:200],
            RECONNECT_PAUSE_SECONDS,
        )
        self.close()
        self._retry_at = time.monotonic() + RECONNECT_PAUSE_SECONDS

    def wait(self, timeout: float) -> bool:
        """See `Waker.wait`; falls back to sleeping while the listening
        connection cannot be opened."""
        connection = self._connect()
        if connection is None:
            return super().wait(timeout)
        deadline = time.monotonic() + timeout
        woken = False
        try:
            while not woken and (remaining := deadline - time.monotonic()) > 0:
                # Consumed to its end (stop_after ends it): a generator left
                # suspended would keep holding the connection's lock.
                received = list(connection.notifies(timeout=remaining, stop_after=1))
                woken = any(
                    self.queue_names is None or notify.payload in self.queue_names
                    for notify in received
                )
        except psycopg.Error as exc:
            self._broken(exc)
            return super().wait(max(deadline - time.monotonic(), 0.0))
        if woken:
            self.drain()
        return woken

    def drain(self) -> None:
        """Discard notifications already received: the claim that follows
        sees their jobs anyway."""
        if self._connection is None or self._connection.closed:
            return
        try:
            list(self._connection.notifies(timeout=0))
        except psycopg.Error as exc:
            self._broken(exc)

    def close(self) -> None:
        """Close the listening connection."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def waker_for(alias: str, using: str, queue_names: list[str]) -> Waker:
    """A `ListeningWaker` on PostgreSQL, else a polling `Waker`."""
    if connections[using].vendor != "postgresql":
        return Waker()
    return ListeningWaker(
        alias, using, None if "*" in queue_names else set(queue_names)
    )
