"""Template filters for test reports only (tests/pdf_render_fixtures.py
registers this library as `pdf_test_tags`): a report that waits, one that
says which process rendered it, one that fails. They run where the report
is rendered, in the forked render process for POST /core/pdf/.
"""

import json
import os
import time
from pathlib import Path

from django import template

register = template.Library()

#: How long `wait_for` waits for its file at most, in seconds: longer than
#: any test's time limit, shorter than a test run.
WAIT_AT_MOST_SECONDS = 60


@register.filter
def note_process(path: str) -> str:
    """Write `{"pid", "nice", "policy"}` of the rendering process to `path`
    (then renamed into place, so a reader never sees half of it); prints
    nothing."""
    partial = Path(f"{path}.partial")
    process = {
        "pid": os.getpid(),
        "nice": os.nice(0),
        "policy": os.sched_getscheduler(0),
    }
    partial.write_text(json.dumps(process))
    partial.rename(path)
    return ""


@register.filter
def wait_for(path: str) -> str:
    """Wait until the file `path` exists (the test opens the gate), at most
    WAIT_AT_MOST_SECONDS; prints nothing."""
    deadline = time.monotonic() + WAIT_AT_MOST_SECONDS
    while not Path(path).exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return ""


@register.filter
def fail(message: str) -> str:
    """Raise RuntimeError(message): a report template with a bug."""
    raise RuntimeError(message)
