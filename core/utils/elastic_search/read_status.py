"""ReadStatus: whether reads that can fall back (the activity log's) are
being answered by Elasticsearch, and if not, why.

A reader with a fallback (the database) never shows an Elasticsearch error
to its user, so nobody would learn that every History page is answered by
the database because the API key expired. The reader records each fallback
here with its cause; the readiness check `activity_log_reads` reports it.
One per client, so per process: it describes the reads this process served.
"""

import threading
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone


@dataclass(frozen=True)
class ReadFallback:
    """Reads falling back since `since`: `count` of them, the last for `cause`.

    Example: `ReadFallback(cause="401 authentication failed
    (security_exception)", since=datetime(...), count=12)`.
    """

    cause: str
    since: datetime
    count: int


class ReadStatus:
    """Thread-safe record of the current run of fallbacks (None: reads are
    answered by Elasticsearch, or there were none yet)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fallback: ReadFallback | None = None

    def record_fallback(self, cause: str) -> None:
        """A read was answered by the fallback because of `cause`."""
        with self._lock:
            current = self._fallback
            since = timezone.now() if current is None else current.since
            count = 1 if current is None else current.count + 1
            self._fallback = ReadFallback(cause, since, count)

    def record_success(self) -> None:
        """A read was answered by Elasticsearch: the run of fallbacks ends."""
        if self._fallback is not None:
            with self._lock:
                self._fallback = None

    @property
    def fallback(self) -> ReadFallback | None:
        """The current run of fallbacks, if reads are falling back."""
        return self._fallback
