"""The one clock the scheduler reads: real time, or a test's.

settings.FUSION_SCHEDULE_CLOCK_FILE (set only by the test settings, from
the environment variable of the same name) names a file holding an ISO 8601
time with its offset, e.g. `2026-03-29T00:55:00+00:00`: the scheduler of
every process that has it reads "now" from that file on each round, so a
test moves the clock of several worker processes across a daylight-saving
change by rewriting one file. Only the scheduler reads it: jobs, retries
and leases keep real time.
"""

from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone


def scheduler_now() -> datetime:
    """Now, for the scheduler (timezone-aware)."""
    path = getattr(settings, "FUSION_SCHEDULE_CLOCK_FILE", "")
    if not path:
        return timezone.now()
    text = Path(path).read_text().strip()
    try:
        now = datetime.fromisoformat(text)
    except ValueError:
        now = None
    if now is None or now.tzinfo is None:
        raise ImproperlyConfigured(
            f"FUSION_SCHEDULE_CLOCK_FILE {path} holds {text[:40]!r}; it must hold "
            "an ISO 8601 time with its offset, e.g. 2026-03-29T00:55:00+00:00."
        )
    return now
