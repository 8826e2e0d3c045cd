"""The instance cache against its floor and against the ORM.

Run: `.venv/bin/python -m bench.bench_cache` (PostgreSQL from DATABASE_URL,
by default the machine's; Redis from BENCH_REDIS_URL, by default
redis://127.0.0.1:6379/15, whose bench keys are deleted afterwards).

Run `--quick` for a short pass (fewer, shorter rounds, no stale window).
Printed, as medians of alternating rounds in one run (the order rotating,
bench/rounds.py), each ratio the median of per-round ratios with its
interval, the figures written to var/bench/ (bench/results.py):
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

import argparse
import datetime as dt
import json
import os
import statistics
import time
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
from bench.results import Record, parse_arguments, start  # noqa: E402
from bench.rounds import AtLeast, AtMost, timed_rounds  # noqa: E402
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
#: The production default socket timeout (CACHE_REDIS_TIMEOUT_MS).
TIMEOUT_SECONDS = 0.1


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


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--per-round", type=int, default=500)
    parser.add_argument(
        "--frozen-reads", type=int, default=7, help="first reads with Redis frozen"
    )
    parser.add_argument(
        "--stale-runs", type=int, default=3, help="stale-window runs (0: none)"
    )
    quick = {"rounds": 5, "per_round": 100, "frozen_reads": 3, "stale_runs": 0}
    return parse_arguments(parser, quick)


def main() -> None:
    args = parse_args()
    print(
        f"database: {connection.vendor}; redis: {REDIS_URL}; medians of "
        f"{args.rounds} rounds"
    )
    record = start("bench_cache", args)
    raw = redis.Redis.from_url(REDIS_URL)
    prepare_database()
    rows = setup_rows(100)
    key = CachedReading.get_cache_key(LAB_ID)
    try:
        ids = [row.pk for row in rows]
        CachedReading.get_cached_instances(ids, LAB_ID)  # fill every row
        assert isinstance(get_client("cache").storage, RedisStorage)
        single_reads(raw, key, ids[0], args, record)
        batch_reads(ids, args, record)
        frozen_redis(rows, args, record)
    finally:
        raw.delete(key)
        with connection.schema_editor() as editor:
            editor.delete_model(CachedReading)
    record.write()


def single_reads(
    raw: redis.Redis, key: str, one: int, args: argparse.Namespace, record: Record
) -> None:
    """A cached hit against the floor (HGET + json + Model) and the ORM."""
    field = str(one)

    def floor() -> CachedReading:
        value = raw.hget(key, field)
        payload = json.loads(value.partition(b"|")[2])  # type: ignore[union-attr]
        return CachedReading(**payload)

    figures = timed_rounds(
        {
            "floor": floor,
            "hit": lambda: CachedReading.get_cached_instance(one, LAB_ID),
            "orm": lambda: CachedReading.objects.get(pk=one),
        },
        args.per_round,
        args.rounds,
    )
    floor_us, hit_us, orm_us = (
        record.figure(name, "seconds per read", figures[name], "s").spread.median * 1e6
        for name in ("floor", "hit", "orm")
    )
    print(
        f"single read: floor (HGET+json+Model) {floor_us:6.1f} us | "
        f"cached hit {hit_us:6.1f} us | ORM get {orm_us:6.1f} us"
    )
    over_floor = record.ratio(
        "seconds per read", "hit", "floor", figures["hit"], figures["floor"],
        AtMost(1.25),
    )  # fmt: skip
    faster = record.ratio(
        "seconds per read", "orm", "hit", figures["orm"], figures["hit"],
        AtLeast(2.5),
    )  # fmt: skip
    print(
        f"  hit / floor = {over_floor.describe()}\n"
        f"  hit is faster than the ORM by {faster.describe()}"
    )
    record.conclude("cached hit <= 1.25x the floor", str(over_floor.verdict))
    record.conclude("cached hit >= 2.5x faster than the ORM", str(faster.verdict))


def batch_reads(ids: list[int], args: argparse.Namespace, record: Record) -> None:
    """get_cached_instances of 100 ids against 100 get_cached_instance."""
    batch = timed_rounds(
        {
            "many": lambda: CachedReading.get_cached_instances(ids, LAB_ID),
            "singles": lambda: [
                CachedReading.get_cached_instance(i, LAB_ID) for i in ids
            ],
        },
        20,
        args.rounds,
    )
    many, singles = (
        record.figure(name, "seconds per 100 ids", batch[name], "s").spread.median
        for name in ("many", "singles")
    )
    faster = record.ratio(
        "seconds per 100 ids", "singles", "many", batch["singles"], batch["many"]
    )
    print(
        f"100 ids: get_cached_instances {many * 1e3:6.2f} ms | "
        f"100 x get_cached_instance {singles * 1e3:6.2f} ms | "
        f"faster in one call by {faster.describe(digits=1)}"
    )


def frozen_redis(
    rows: list[CachedReading], args: argparse.Namespace, record: Record
) -> None:
    """Both freeze experiments, on a redis-server of the bench's own."""
    server = RedisServer()
    try:
        service = cache_service("redis", url=server.url)
        with override_settings(SERVICES={**settings.SERVICES, "cache": service}):
            frozen_first_read(server, rows[0].pk, args.frozen_reads, record)
            if args.stale_runs:
                stale_window(server, rows[:20], args.stale_runs, record)
    finally:
        registry.reset()
        server.stop()


def frozen_first_read(server: RedisServer, pk: int, reads: int, record: Record) -> None:
    """The first read once Redis froze, with a fresh client (breaker closed),
    vs a raw HGET with the same timeout, alternating (a pair per round)."""
    ours, errors, raw = [], [], []
    for _ in range(reads):
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
    metric = "seconds of the first read, Redis frozen"
    ours_ms = record.figure("ours", metric, ours, "s").spread.median * 1e3
    raw_ms = record.figure("raw", metric, raw, "s").spread.median * 1e3
    ratio = record.ratio(metric, "ours", "raw", ours, raw)
    print(
        f"Redis frozen, first read: {ours_ms:6.1f} ms ({max(errors)} failed "
        f"Redis call(s)) | raw HGET, same {TIMEOUT_SECONDS * 1e3:.0f} ms timeout "
        f"{raw_ms:6.1f} ms | {ratio.describe()} (target 1.0x: one timeout)"
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


def stale_window(
    server: RedisServer, rows: list[CachedReading], runs: int, record: Record
) -> None:
    """How long a second process, idle through the freeze, reads rows this
    process edited during it."""
    windows = []
    for run in range(runs):
        registry.reset()

        def edit(row: CachedReading, run: int = run) -> None:
            row.name = f"edited in freeze {run}"
            row.save()

        windows.append(measure_stale_window(server, rows, edit))
    last = [w.last_stale_seconds or 0.0 for w in windows]
    stale = [w.stale_at_resume for w in windows]
    record.figure("second process", "seconds stale after the resume", last, "s")
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
