"""Redis-freeze experiments with real processes, for the tests and
`bench/bench_cache.py` alike (issue 20, points 4 and 5).

`measure_stale_window`: this process fills the cache, a second process
(`stale_reader`) reads the rows once and goes idle, Redis is frozen
(SIGSTOP), this process saves every row (its invalidations cannot be
delivered), Redis is resumed, and then only the second process reads, every
`poll_seconds`: how long after the resume does it still get an old version?

`first_read_when_frozen`: with the breaker closed, how long the first read
of a cached row waits once Redis is frozen, and how many Redis calls failed.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from core.cache import HashCache
from tests.core.fusion.processes import REPO, database_url
from tests.redis_servers import RedisServer

#: How long the reader process may take to start or to answer a read.
READER_WAIT_SECONDS = 30.0


@dataclass(frozen=True)
class StaleWindow:
    """What the second process saw after the resume.

    `last_stale_seconds`: when the last read that returned an old version
    came back, in seconds after the resume (None: no stale read at all);
    `stale_at_resume`: how many rows the first read after the resume got
    old; `reads`: how many reads were made in `observed_seconds`;
    `frozen_seconds`: from the second process's first cache call (before
    the freeze) to the resume.
    """

    rows: int
    stale_at_resume: int
    last_stale_seconds: float | None
    reads: int
    observed_seconds: float
    frozen_seconds: float = 0.0


class ReaderProcess:
    """`python -m tests.core.cache.stale_reader` on `model`'s rows `ids` of
    `lab_id`, with this process's settings and database and `redis_url`."""

    def __init__(
        self, model_label: str, lab_id: int, ids: Sequence[int], redis_url: str
    ) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CACHE_")}
        env.update(
            DATABASE_URL=database_url(),
            CACHE_REDIS_URL=redis_url,
            CACHE_REDIS_TIMEOUT_MS="100",
            PYTHONUNBUFFERED="1",
        )
        argv = [model_label, str(lab_id), ",".join(str(pk) for pk in ids)]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.core.cache.stale_reader", *argv],
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        if self._line() != "ready":
            raise RuntimeError("the reader process did not start")

    def read(self) -> dict[str, int]:
        """One read of every row in the reader: {id: version}."""
        assert self.process.stdin is not None
        self.process.stdin.write("read\n")
        self.process.stdin.flush()
        versions: dict[str, int] = json.loads(self._line())
        return versions

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)

    def _line(self) -> str:
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], READER_WAIT_SECONDS)
        if not ready:
            raise TimeoutError(f"no answer from the reader in {READER_WAIT_SECONDS} s")
        return self.process.stdout.readline().strip()


def measure_stale_window(
    redis: RedisServer,
    rows: Sequence[Any],
    edit: Callable[[Any], None],
    observe_seconds: float = 3.0,
    poll_seconds: float = 0.05,
    before_resume: Callable[[], None] | None = None,
) -> StaleWindow:
    """See the module docstring. `rows` are saved, cached-model instances of
    one lab; `edit(row)` changes and saves one (during the freeze);
    `before_resume()`, if given, runs after the edits, Redis still frozen.
    This process's cache client must already point at `redis`."""
    model = type(rows[0])
    ids = [row.pk for row in rows]
    model.get_cached_instances(ids, rows[0].lab_id)  # cached here, in Redis
    reader = ReaderProcess(model._meta.label, rows[0].lab_id, ids, redis.url)
    try:
        reader.read()  # the reader's first cache call, then it goes idle
        first_call = time.monotonic()
        redis.pause()
        try:
            for row in rows:
                edit(row)
            if before_resume is not None:
                before_resume()
        finally:
            redis.resume()
        resumed = time.monotonic()
        committed = {str(row.pk): row.version for row in rows}
        window = _observe(reader, committed, resumed, observe_seconds, poll_seconds)
        return replace(window, frozen_seconds=resumed - first_call)
    finally:
        reader.stop()


def _observe(
    reader: ReaderProcess,
    committed: dict[str, int],
    resumed: float,
    observe_seconds: float,
    poll_seconds: float,
) -> StaleWindow:
    """Read in `reader` every `poll_seconds` for `observe_seconds`."""
    stale_counts: list[int] = []
    last_stale: float | None = None
    while time.monotonic() - resumed < observe_seconds:
        seen = reader.read()
        stale = sum(seen[pk] < version for pk, version in committed.items())
        stale_counts.append(stale)
        if stale:
            last_stale = time.monotonic() - resumed
        time.sleep(poll_seconds)
    return StaleWindow(
        rows=len(committed),
        stale_at_resume=stale_counts[0],
        last_stale_seconds=last_stale,
        reads=len(stale_counts),
        observed_seconds=observe_seconds,
    )


@dataclass(frozen=True)
class FrozenRead:
    """The first read after Redis froze: seconds it took, and the Redis
    calls it made that failed (`errors`) or were not made (`skipped`)."""

    seconds: float
    errors: int
    skipped: int


def first_read_when_frozen(
    cache: HashCache, redis: RedisServer, read: Callable[[], object]
) -> FrozenRead:
    """Freeze `redis`, time `read()` (which should read through `cache`),
    resume. The breaker should be closed before (a fresh client)."""
    before = cache.snapshot()
    redis.pause()
    try:
        started = time.perf_counter()
        read()
        seconds = time.perf_counter() - started
    finally:
        redis.resume()
    after = cache.snapshot()
    return FrozenRead(
        seconds=seconds,
        errors=after["errors"] - before["errors"],
        skipped=after["skipped"] - before["skipped"],
    )
