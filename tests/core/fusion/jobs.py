"""Jobs used by the Fusion tests. Workers (in-process and in subprocesses)
import them by path, so they live at module level and take only JSON values.

Each job appends lines to the file `path`; the test reads the file to see
what ran, where (pid) and how often. Backoffs are milliseconds so that a
retry is due almost at once; the time limits are what each test needs.
"""

import os
import signal
import time
import urllib.request
from dataclasses import fields
from pathlib import Path
from typing import Any

from django.db.models import F
from django.tasks import TaskContext

from core.models import Counter
from core.utils.fusion import job
from core.utils.fusion.jobs import FusionTask

#: A Counter window that never ends (expired counters are pruned).
NEVER_MS = 2**62
FAST_RETRY = {"backoff_base_seconds": 0.01, "backoff_cap_seconds": 0.02}


def append(path: str, line: str) -> None:
    """Append `line` and flush, so another process sees it at once."""
    with Path(path).open("a") as handle:
        handle.write(line + "\n")


def lines(path: str) -> list[str]:
    """What the jobs wrote to `path` so far ([] before any)."""
    file = Path(path)
    return file.read_text().splitlines() if file.exists() else []


@job(max_attempts=3, time_limit_seconds=10, **FAST_RETRY)
def record(path: str, token: str) -> dict[str, int]:
    """Write `token pid`; returns the pid."""
    append(path, f"{token} {os.getpid()}")
    return {"pid": os.getpid()}


@job(max_attempts=1, time_limit_seconds=10)
def slow_record(path: str, token: str, seconds: float) -> None:
    """Write `token started`, take `seconds`, write `token done`."""
    append(path, f"{token} started")
    time.sleep(seconds)
    append(path, f"{token} done")


@job(max_attempts=3, time_limit_seconds=10, **FAST_RETRY)
def always_fail(path: str) -> None:
    """Fail every time, like a call to a service that is down."""
    append(path, "attempt")
    raise ConnectionError(
        "hooks.slack.com refused https://bot:s3cret@hooks.slack.com/x"
    )


@job(max_attempts=4, time_limit_seconds=10, **FAST_RETRY)
def fail_then_succeed(path: str, failures: int) -> str:
    """Fail the first `failures` attempts, then succeed."""
    append(path, "attempt")
    if len(lines(path)) <= failures:
        raise TimeoutError("the service did not answer in time")
    return "done"


@job(max_attempts=2, time_limit_seconds=0.5, **FAST_RETRY)
def sleep_past_limit(path: str) -> None:
    """Run far longer than its half-second time limit."""
    append(path, "start")
    time.sleep(30)
    append(path, "never")


@job(max_attempts=3, time_limit_seconds=3, **FAST_RETRY)
def block_first_time(path: str) -> None:
    """First attempt: write `started` and block (a test kills the worker);
    any later attempt: write `done pid`."""
    if "started" in lines(path):
        append(path, f"done {os.getpid()}")
        return
    append(path, "started")
    time.sleep(60)


@job(max_attempts=1, time_limit_seconds=0.5, **FAST_RETRY)
def swallow_time_limit(path: str) -> None:
    """Catch the time limit and carry on: only the hard limit stops this."""
    append(path, f"start {os.getpid()}")
    while True:
        try:
            time.sleep(10)
        except BaseException:  # misbehaving on purpose
            append(path, "swallowed")


@job(takes_context=True, max_attempts=3, time_limit_seconds=10, **FAST_RETRY)
def fail_once_with_context(context: TaskContext, path: str) -> int:
    """Record the attempt number Django's TaskContext reports; fail the first."""
    append(path, f"attempt {context.attempt}")
    if context.attempt == 1:
        raise RuntimeError("first attempt fails")
    return context.attempt


@job(max_attempts=1, time_limit_seconds=10, **FAST_RETRY)
def kill_own_process(path: str) -> None:
    """Kill the process running it, like a segfault or the OOM killer."""
    append(path, "killing")
    os.kill(os.getpid(), signal.SIGKILL)


@job(max_attempts=2, time_limit_seconds=10, **FAST_RETRY)
def post_to(url: str) -> int:
    """POST to `url` (a webhook, Slack...): the external effect of a save."""
    request = urllib.request.Request(url, data=b"{}", method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310
        return int(response.status)


#: Where `on_schedule` writes (an environment variable: a schedule passes
#: its job no path, only a lab id for a per-lab schedule).
SCHEDULED_JOB_FILE = "TEST_SCHEDULED_JOB_FILE"


@job(takes_context=True, max_attempts=1, time_limit_seconds=10)
def on_schedule(context: TaskContext, lab_id: int | None = None) -> None:
    """The job of the schedules' tests: write `job-id lab-id pid`."""
    append(
        os.environ[SCHEDULED_JOB_FILE],
        f"{context.task_result.id} {lab_id} {os.getpid()}",
    )


class EnqueueFailsAfterWriting(FusionTask):
    """`on_schedule` whose enqueue writes the real job row, then fails (the
    database or broker gave out mid-enqueue): what it wrote must not stay."""

    def enqueue(self, *args: Any, **kwargs: Any) -> Any:
        on_schedule.enqueue(*args, **kwargs)
        raise ConnectionError("the connection dropped after the job's insert")


on_schedule_failing = EnqueueFailsAfterWriting(
    **{field.name: getattr(on_schedule, field.name) for field in fields(on_schedule)}
)


@job(max_attempts=3, time_limit_seconds=600, **FAST_RETRY)
def hang_first_time(path: str) -> dict[str, int]:
    """First attempt: write `started pid` and hang (a test kills or freezes
    its worker) until another attempt wrote `done`, then write `late pid`;
    any later attempt: write `done pid`. The time limit is ten minutes: only
    a heartbeat can tell a dead worker here."""
    if not lines(path):
        append(path, f"started {os.getpid()}")
        _wait_for_line(path, "done")
        append(path, f"late {os.getpid()}")
    else:
        append(path, f"done {os.getpid()}")
    return {"pid": os.getpid()}


@job(max_attempts=3, time_limit_seconds=600, atomic=True, **FAST_RETRY)
def count_once(path: str, key: str) -> dict[str, int]:
    """`hang_first_time`, and then add one to Counter `key`, in the job's
    transaction (an atomic job): a superseded attempt's hit is rolled back."""
    outcome = hang_first_time.call(path)
    Counter.objects.get_or_create(key=key, defaults={"hits": 0, "ends_at_ms": NEVER_MS})
    Counter.objects.filter(key=key).update(hits=F("hits") + 1)
    return outcome


@job(max_attempts=1, time_limit_seconds=600)
def sleep_then_record(path: str, seconds: float) -> None:
    """Write `started pid`, sleep `seconds` (a slow but live job), write
    `done pid`."""
    append(path, f"started {os.getpid()}")
    time.sleep(seconds)
    append(path, f"done {os.getpid()}")


def _wait_for_line(path: str, prefix: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not any(line.startswith(prefix) for line in lines(path)):
        if time.monotonic() > deadline:
            return
        time.sleep(0.05)
