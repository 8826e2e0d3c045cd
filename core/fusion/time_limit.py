"""A per-attempt time limit, enforced with SIGALRM in the worker's main thread.

Workers run jobs in their main thread (Fusion's database worker, and Celery's
solo and prefork pools), where a signal handler can interrupt them:

- soft limit: after `seconds`, `JobTimeLimitExceeded` is raised inside the
  job, wherever it is (a blocking socket read is interrupted too);
- hard limit: if the job swallows that and is still running
  `hard_grace_seconds` later, `on_hard_limit()` is called (the database
  worker replaces its process; Celery's prefork pool has its own hard limit).

Code that never returns to the interpreter (a C loop holding the GIL) cannot
be interrupted by a signal handler; only killing the process stops it.
"""

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

from core.utils.fusion.exceptions import JobTimeLimitExceeded

logger = logging.getLogger(__name__)


@contextmanager
def time_limit(
    seconds: float,
    *,
    hard_grace_seconds: float = 0.0,
    on_hard_limit: Callable[[], None] | None = None,
) -> Iterator[None]:
    """Run the block for at most `seconds`; see the module docstring.

    Outside the main thread, signals cannot be used: the block runs without a
    limit and a warning is logged. A timer that was already armed (for
    example by a test runner's own timeout) is restored afterwards.
    """
    if threading.current_thread() is not threading.main_thread():
        logger.warning(
            "time limit of %g s not enforced outside the main thread", seconds
        )
        yield
        return
    fired = False

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        nonlocal fired
        if not fired:
            fired = True
            if on_hard_limit is not None:
                signal.setitimer(signal.ITIMER_REAL, max(hard_grace_seconds, 0.001))
            raise JobTimeLimitExceeded(
                f"The job ran longer than its time limit of {seconds:g} s."
            )
        if on_hard_limit is not None:
            on_hard_limit()

    started = time.monotonic()
    previous_handler = signal.signal(signal.SIGALRM, on_alarm)
    previous_delay, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler)
        if previous_delay > 0:
            remaining = previous_delay - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(remaining, 0.001))
