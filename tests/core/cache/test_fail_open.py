"""Fail-open: with Redis dead or hung, reads fall back to the database, saves
succeed, warnings are logged, and no stale entry survives the outage."""

import logging
from collections.abc import Iterator

import pytest

from core.cache import HashCache
from core.models import PendingCacheInvalidation
from core.utils.circuit_breaker import BreakerState
from core.utils.clients import registry
from tests.core.cache.conftest import use_cache
from tests.lifecycle.models import Specimen
from tests.redis_servers import RedisServer

pytestmark = pytest.mark.django_db(transaction=True)

#: Settings of the cache under test: fast timeouts and a fast breaker reset.
TIMEOUT_SECONDS = 0.1
RESET_AFTER_SECONDS = 0.3


@pytest.fixture
def faulty_redis() -> Iterator[RedisServer]:
    """A redis-server of this test's own, to kill or freeze."""
    server = RedisServer()
    yield server
    server.stop()


@pytest.fixture
def cache(settings, faulty_redis) -> Iterator[HashCache]:
    yield use_cache(
        settings,
        "redis",
        url=faulty_redis.url,
        socket_timeout_seconds=TIMEOUT_SECONDS,
        failure_threshold=2,
        reset_after_seconds=RESET_AFTER_SECONDS,
    )
    registry.reset()  # stops its retry thread


def wait_for_breaker_reset() -> None:
    import time

    time.sleep(RESET_AFTER_SECONDS + 0.05)


def test_with_redis_killed_reads_use_the_database_and_saves_succeed(
    cache, faulty_redis, labs, caplog
):
    specimen = Specimen(lab=labs["north"], label="before")
    specimen.save()
    faulty_redis.stop()

    with caplog.at_level(logging.WARNING, logger="core.cache"):
        reads = [
            Specimen.get_cached_instance(specimen.pk, specimen.lab_id) for _ in range(5)
        ]
        specimen.label = "saved while Redis is down"
        specimen.save()

    assert all(read.label == "before" for read in reads)
    assert Specimen.objects.get(pk=specimen.pk).version == 2
    stats = cache.snapshot()
    assert stats["breaker"] == BreakerState.OPEN
    assert stats["errors"] == 2  # then the breaker stopped the calls
    assert stats["skipped"] >= 4
    assert "using the database" in caplog.text
    assert list(PendingCacheInvalidation.objects.values_list("key", flat=True)) == [
        Specimen.get_cache_key(specimen.lab_id)
    ]


def test_an_invalidation_lost_in_an_outage_leaves_no_stale_entry_afterwards(
    cache, faulty_redis, labs
):
    specimen = Specimen(lab=labs["north"], label="old")
    specimen.save()
    Specimen.get_cached_instance(specimen.pk, specimen.lab_id)  # cached: "old"
    faulty_redis.pause()  # Redis hangs, keeping its data

    specimen.label = "new"
    specimen.save()  # the tombstone cannot be delivered
    assert Specimen.get_cached_instance(specimen.pk, specimen.lab_id).label == "new"
    assert PendingCacheInvalidation.objects.count() == 1

    faulty_redis.resume()  # back, still holding the "old" entry
    wait_for_breaker_reset()
    first = Specimen.get_cached_instance(specimen.pk, specimen.lab_id)
    second = Specimen.get_cached_instance(specimen.pk, specimen.lab_id)

    assert (first.label, second.label) == ("new", "new")
    assert not PendingCacheInvalidation.objects.exists()
    assert cache.snapshot()["breaker"] == BreakerState.CLOSED


def test_a_hung_redis_costs_at_most_the_threshold_of_timeouts(
    cache, faulty_redis, labs
):
    specimen = Specimen(lab=labs["north"], label="x")
    specimen.save()
    faulty_redis.pause()

    for _ in range(10):
        assert Specimen.get_cached_instance(specimen.pk, specimen.lab_id).label == "x"

    stats = cache.snapshot()
    # The first two reads waited for one timeout each (their lookup; no fill
    # after a lookup that got no answer), then the breaker opened (threshold
    # 2): the other eight reads did not touch Redis at all.
    assert stats["errors"] == 2
    assert stats["skipped"] == 8


def test_the_health_check_reports_the_outage(cache, faulty_redis):
    assert cache.check().ok
    faulty_redis.stop()

    status = cache.check()

    assert not status.ok
    assert "Error" in status.detail
