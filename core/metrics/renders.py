"""Counting PDF renders where they are started: in the web process for
POST /core/pdf/ (core/pdf_sync.py) and in the worker for batches
(core/pdf_jobs.py), never in the forked process that renders, whose
counts would be lost with it in single-process mode (and would leave a
file per render behind in multiprocess mode)."""

import time
from collections.abc import Iterator
from contextlib import contextmanager

from core.metrics.families import PDF_RENDER_SECONDS, PDF_RENDERS

#: The kinds of render (`kind` label).
SYNC = "sync"
BATCH = "batch"


@contextmanager
def counted_render(
    kind: str, *, timeout: type[BaseException] | None = None
) -> Iterator[None]:
    """Count the render in the block: `rendered` (and its time) when it
    ends normally, `timed_out` when it raises `timeout`, else `failed`.

    Example: `with counted_render(SYNC, timeout=ForkedTimeout): pdf = ...`.
    """
    started = time.perf_counter()
    try:
        yield
    except BaseException as exc:
        timed_out = timeout is not None and isinstance(exc, timeout)
        PDF_RENDERS.labels(kind, "timed_out" if timed_out else "failed").inc()
        raise
    PDF_RENDER_SECONDS.labels(kind).observe(time.perf_counter() - started)
    PDF_RENDERS.labels(kind, "rendered").inc()


def count_busy(kind: str) -> None:
    """A render refused because every render slot was taken."""
    PDF_RENDERS.labels(kind, "busy").inc()
