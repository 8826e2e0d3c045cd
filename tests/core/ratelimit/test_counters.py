"""Windowed counters in process, on a real redis-server, on a real Redis
Cluster and in the database: the same counts and windows on each, and Redis
failures reported."""

import pytest

from core.cache.shared_redis import StoreUnavailable, cache_redis
from core.models import Counter
from core.ratelimit import counters
from core.ratelimit.counters import (
    Count,
    DatabaseCounterStore,
    LocalCounterStore,
    RedisCounterStore,
    counter_store,
    prune_expired_counters,
    sign_in_counter_store,
)
from core.utils.clients import registry
from tests.cache_settings import cache_service


@pytest.fixture(params=["local", "redis", "cluster", "database"])
def store(request):
    """The counter store on each backend."""
    if request.param == "database":
        request.getfixturevalue("db")
        return DatabaseCounterStore()
    if request.param != "local":
        request.getfixturevalue(
            "on_redis" if request.param == "redis" else "on_cluster"
        )
    return counter_store()


def test_hits_count_within_a_window_on_every_backend(store):
    assert store.peek("k") == Count(0, 0)

    first = store.hit("k", 60)
    second = store.hit("k", 60)

    assert (first.hits, second.hits) == (1, 2)
    assert 59 <= second.retry_after_seconds <= 60
    assert store.peek("k").hits == 2
    assert store.peek("other").hits == 0
    store.reset("k")
    assert store.peek("k") == Count(0, 0)


def test_undo_takes_back_one_hit_keeps_the_window_and_never_goes_below_zero(store):
    store.undo("k")  # nothing to take back
    store.hit("k", 60)
    store.hit("k", 60)

    store.undo("k")

    assert store.peek("k").hits == 1
    assert 59 <= store.peek("k").retry_after_seconds <= 60
    store.undo("k")
    store.undo("k")
    assert store.peek("k").hits == 0
    assert store.hit("k", 60).hits == 1


def test_the_sign_in_store_is_redis_or_else_the_database(db, settings, on_redis):
    assert isinstance(sign_in_counter_store(), RedisCounterStore)
    settings.SERVICES = {
        **settings.SERVICES,
        "cache": cache_service("local"),
    }
    registry.reset()
    assert isinstance(sign_in_counter_store(), DatabaseCounterStore)


def test_a_database_window_ends_and_its_row_is_pruned(db):
    store = DatabaseCounterStore()
    store.hit("old", 60)
    store.hit("live", 60)
    Counter.objects.filter(key="old").update(ends_at_ms=1)  # its window ended

    assert store.peek("old") == Count(0, 0)
    assert store.hit("old", 60) == Count(1, 60)  # counting starts again
    Counter.objects.filter(key="old").update(ends_at_ms=1)
    assert prune_expired_counters() == 1
    assert list(Counter.objects.values_list("key", flat=True)) == ["live"]


def test_the_backend_follows_the_cache_service(settings, on_redis):
    assert isinstance(counter_store(), RedisCounterStore)
    counter_store().hit("k", 60)
    assert on_redis.client().get("counter:k") == b"1"
    assert 0 < on_redis.client().pttl("counter:k") <= 60_000

    settings.SERVICES = {
        **settings.SERVICES,
        "cache": cache_service("local"),
    }
    registry.reset()
    assert cache_redis() is None
    assert isinstance(counter_store(), LocalCounterStore)
    assert counter_store() is counter_store()  # one store per cache client


def test_redis_counts_outlive_a_client_rebuild_local_ones_do_not(settings, on_redis):
    counter_store().hit("k", 60)
    registry.reset()  # as after a fork, or in another process
    assert counter_store().peek("k").hits == 1

    settings.SERVICES = {
        **settings.SERVICES,
        "cache": cache_service("local"),
    }
    registry.reset()
    counter_store().hit("k", 60)
    registry.reset()
    assert counter_store().peek("k").hits == 0


def test_a_local_window_ends_and_counting_starts_again():
    now = [100.0]
    store = LocalCounterStore(clock=lambda: now[0])

    store.hit("k", 10)
    now[0] = 105.2
    middle = store.hit("k", 10)
    now[0] = 110.0
    after = store.peek("k")
    restarted = store.hit("k", 10)

    assert middle == Count(2, 5)
    assert after == Count(0, 0)
    assert restarted == Count(1, 10)


def test_a_local_store_sweeps_ended_counters(monkeypatch):
    monkeypatch.setattr(counters, "LOCAL_SWEEP_AT_COUNTERS", 3)
    now = [0.0]
    store = LocalCounterStore(clock=lambda: now[0])
    for key in "abc":
        store.hit(key, 5)
    now[0] = 6.0

    store.hit("d", 5)
    store.hit("e", 5)

    assert sorted(store._counts) == ["d", "e"]


def test_a_killed_redis_is_reported_and_then_skipped_by_the_breaker(faulty_redis):
    store = counter_store()
    store.hit("k", 60)
    faulty_redis.stop()

    failures = []
    for _ in range(3):
        with pytest.raises(StoreUnavailable) as failure:
            store.hit("k", 60)
        failures.append(str(failure.value))

    assert failures[0] == "Redis call failed (ConnectionError)."
    assert failures[-1] == "Redis is unavailable (circuit breaker open)."
