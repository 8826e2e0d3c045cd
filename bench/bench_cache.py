"""The instance cache against its floor and against the ORM.

Run: `.venv/bin/python -m bench.bench_cache` (PostgreSQL from DATABASE_URL,
by default the machine's; Redis from BENCH_REDIS_URL, by default
redis://127.0.0.1:6379/15, whose bench keys are deleted afterwards).

Printed, as medians of alternating rounds in one run:
- a cached hit (`get_cached_instance`) vs the floor any Redis cache pays: a
  raw redis-py HGET + json.loads + building the instance from the dict
  (target <= 1.25x);
- a cached hit vs `Model.objects.get(pk=...)` (target: hit >= 2.5x faster);
- `get_cached_instances` of 100 ids vs 100 `get_cached_instance` calls;
- Redis frozen (SIGSTOP of a redis-server the bench starts): the first
  read's latency vs a raw redis-py HGET with the same 100 ms timeout (one
  timeout: target 1.0x), and the stale window, how long after the resume a
  second process still reads rows edited during the freeze (target: about
  one retry interval, `PENDING_RETRY_INTERVAL_SECONDS`); see
  tests/core/cache/freeze.py for both experiments.
"""

import datetime as dt
import json
import os
import statistics
import time
from collections.abc import Callable
from decimal import Decimal

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
REDIS_URL = os.environ.setdefault("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ["CACHE_REDIS_URL"] = REDIS_URL

import django  # noqa: E402

django.setup()

import redis  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import override_settings  # noqa: E402
from redis.backoff import NoBackoff  # noqa: E402
from redis.retry import Retry  # noqa: E402

from bench.database import prepare_database  # noqa: E402
from bench.models import CachedReading  # noqa: E402
from core.cache.backends import RedisStorage  # noqa: E402
from core.cache.retry import PENDING_RETRY_INTERVAL_SECONDS  # noqa: E402
from core.models import PendingCacheInvalidation  # noqa: E402
from core.utils.clients import get_client, registry  # noqa: E402
from tests.cache_settings import cache_service  # noqa: E402
from tests.core.cache.freeze import (  # noqa: E402
    first_read_when_frozen,
    measure_stale_window,
)
from tests.redis_servers import RedisServer  # noqa: E402

LAB_ID = 7
ROUNDS = 15
PER_ROUND = 500
#: Freeze experiments: how many of each (each freezes the bench's own Redis).
FROZEN_READS = 7
STALE_RUNS = 3
#: The production default socket timeout (CACHE_REDIS_TIMEOUT_MS).
TIMEOUT_SECONDS = 0.1


def median_seconds(action: Callable[[], object], count: int) -> float:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def alternate(
    variants: dict[str, Callable[[], object]], count: int
) -> dict[str, float]:
    """Median over rounds of each variant's median per call."""
    rounds: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(ROUNDS):
        for name, action in variants.items():
            rounds[name].append(median_seconds(action, count))
    return {name: statistics.median(values) for name, values in rounds.items()}


def setup_rows(count: int) -> list[CachedReading]:
    with connection.schema_editor() as editor:
        editor.execute(f"DROP TABLE IF EXISTS {CachedReading._meta.db_table}")
        editor.create_model(CachedReading)
        if (
            PendingCacheInvalidation._meta.db_table
            not in connection.introspection.table_names()
        ):
            editor.create_model(PendingCacheInvalidation)
    rows = []
    for i in range(count):
        row = CachedReading(
            lab_id=LAB_ID,
            name=f"reading {i}",
            reading=Decimal("12.345"),
            taken_on=dt.date(2026, 11, 1),
            received_at=dt.datetime(2026, 11, 1, 8, 30, tzinfo=dt.UTC),
            flags=["H", "verified"],
        )
        row.save()
        rows.append(row)
    return rows


def main() -> None:
    print(
        f"database: {connection.vendor}; redis: {REDIS_URL}; medians of {ROUNDS} rounds"
    )
    raw = redis.Redis.from_url(REDIS_URL)
    prepare_database()
    rows = setup_rows(100)
    key = CachedReading.get_cache_key(LAB_ID)
    try:
        ids = [row.pk for row in rows]
        CachedReading.get_cached_instances(ids, LAB_ID)  # fill every row
        assert isinstance(get_client("cache").storage, RedisStorage)
        one = ids[0]
        field = str(one)

        def floor() -> CachedReading:
            value = raw.hget(key, field)
            payload = json.loads(value.partition(b"|")[2])  # type: ignore[union-attr]
            return CachedReading(**payload)

        timings = alternate(
            {
                "floor": floor,
                "hit": lambda: CachedReading.get_cached_instance(one, LAB_ID),
                "orm": lambda: CachedReading.objects.get(pk=one),
            },
            PER_ROUND,
        )
        floor_us, hit_us, orm_us = (timings[k] * 1e6 for k in ("floor", "hit", "orm"))
        print(
            f"single read: floor (HGET+json+Model) {floor_us:6.1f} us | "
            f"cached hit {hit_us:6.1f} us | ORM get {orm_us:6.1f} us"
        )
        print(
            f"  hit / floor = {hit_us / floor_us:.2f}x (target <= 1.25x); "
            f"hit is {orm_us / hit_us:.2f}x faster than the ORM (target >= 2.5x)"
        )
        batch = alternate(
            {
                "many": lambda: CachedReading.get_cached_instances(ids, LAB_ID),
                "singles": lambda: [
                    CachedReading.get_cached_instance(i, LAB_ID) for i in ids
                ],
            },
            20,
        )
        print(
            f"100 ids: get_cached_instances {batch['many'] * 1e3:6.2f} ms | "
            f"100 x get_cached_instance {batch['singles'] * 1e3:6.2f} ms | "
            f"{batch['singles'] / batch['many']:.1f}x faster in one call"
        )
        frozen_redis(rows)
    finally:
        raw.delete(key)
        with connection.schema_editor() as editor:
            editor.delete_model(CachedReading)


def frozen_redis(rows: list[CachedReading]) -> None:
    """Both freeze experiments, on a redis-server of the bench's own."""
    server = RedisServer()
    try:
        service = cache_service("redis", url=server.url)
        with override_settings(SERVICES={**settings.SERVICES, "cache": service}):
            frozen_first_read(server, rows[0].pk)
            stale_window(server, rows[:20])
    finally:
        registry.reset()
        server.stop()


def frozen_first_read(server: RedisServer, pk: int) -> None:
    """The first read once Redis froze, with a fresh client (breaker closed),
    vs a raw HGET with the same timeout."""
    ours, errors, raw = [], [], []
    for _ in range(FROZEN_READS):
        registry.reset()
        CachedReading.get_cached_instance(pk, LAB_ID)  # cached, connected
        read = first_read_when_frozen(
            get_client("cache"),
            server,
            lambda: CachedReading.get_cached_instance(pk, LAB_ID),
        )
        ours.append(read.seconds)
        errors.append(read.errors)
        raw.append(raw_frozen_hget(server))
    ours_ms, raw_ms = statistics.median(ours) * 1e3, statistics.median(raw) * 1e3
    print(
        f"Redis frozen, first read: {ours_ms:6.1f} ms ({max(errors)} failed "
        f"Redis call(s)) | raw HGET, same {TIMEOUT_SECONDS * 1e3:.0f} ms timeout "
        f"{raw_ms:6.1f} ms | {ours_ms / raw_ms:.2f}x (target 1.0x: one timeout)"
    )


def raw_frozen_hget(server: RedisServer) -> float:
    """Seconds a plain redis-py HGET takes against the frozen server."""
    # No retries: redis-py (6+) otherwise retries a timed-out command three
    # times with backoff; the floor is the one timeout our storage pays.
    no_retry = Retry(NoBackoff(), retries=0)
    client = redis.Redis(
        port=server.port, socket_timeout=TIMEOUT_SECONDS, retry=no_retry
    )
    client.ping()
    server.pause()
    started = time.perf_counter()
    try:
        client.hget("bench", "1")
    except redis.TimeoutError:
        pass
    finally:
        seconds = time.perf_counter() - started
        server.resume()
        client.close()
    return seconds


def stale_window(server: RedisServer, rows: list[CachedReading]) -> None:
    """How long a second process, idle through the freeze, reads rows this
    process edited during it."""
    windows = []
    for run in range(STALE_RUNS):
        registry.reset()

        def edit(row: CachedReading, run: int = run) -> None:
            row.name = f"edited in freeze {run}"
            row.save()

        windows.append(measure_stale_window(server, rows, edit))
    last = [w.last_stale_seconds or 0.0 for w in windows]
    stale = [w.stale_at_resume for w in windows]
    print(
        f"Redis frozen, stale window in a second process: median "
        f"{statistics.median(last) * 1e3:.0f} ms, worst {max(last) * 1e3:.0f} ms "
        f"after the resume (stale rows at the resume: "
        f"{statistics.median(stale):.0f} of {windows[0].rows}; "
        f"retry interval {PENDING_RETRY_INTERVAL_SECONDS} s; "
        f"observed {windows[0].observed_seconds:.0f} s)"
    )


if __name__ == "__main__":
    main()
