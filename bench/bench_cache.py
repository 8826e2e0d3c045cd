"""The instance cache against its floor and against the ORM.

Run: `.venv/bin/python -m bench.bench_cache` (PostgreSQL from DATABASE_URL,
by default the machine's; Redis from BENCH_REDIS_URL, by default
redis://127.0.0.1:6379/15, whose bench keys are deleted afterwards).

Printed, as medians of alternating rounds in one run:
- a cached hit (`get_cached_instance`) vs the floor any Redis cache pays: a
  raw redis-py HGET + json.loads + building the instance from the dict
  (target <= 1.25x);
- a cached hit vs `Model.objects.get(pk=...)` (target: hit >= 2.5x faster);
- `get_cached_instances` of 100 ids vs 100 `get_cached_instance` calls.
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
from django.db import connection  # noqa: E402

from bench.database import prepare_database  # noqa: E402
from bench.models import CachedReading  # noqa: E402
from core.cache.backends import RedisStorage  # noqa: E402
from core.models import PendingCacheInvalidation  # noqa: E402
from core.utils.clients import get_client  # noqa: E402

LAB_ID = 7
ROUNDS = 15
PER_ROUND = 500


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
    finally:
        raw.delete(key)
        with connection.schema_editor() as editor:
            editor.delete_model(CachedReading)


if __name__ == "__main__":
    main()
