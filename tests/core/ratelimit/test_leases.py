"""Leases in process, on a real redis-server and on a real Redis Cluster: caps
per owner and in total, release, a dead holder's lease expiring; the caps
holding across threads and, on Redis, across processes; Redis down falling
back to per-process caps."""

import logging
import multiprocessing
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from core.ratelimit.leases import (
    OWNER,
    TOTAL,
    LeaseRefused,
    LeaseStore,
    LocalLeaseStore,
    RedisLeaseStore,
    acquire_lease,
    lease_store,
)
from core.utils.clients import registry
from tests.cache_settings import cache_service
from tests.pdf_render_fixtures import process_gone, wait_for_file

GROUP = "tests"

# The processes these tests fork use only Redis, over connections of their
# own (the client registry starts afresh after a fork).
pytestmark = [
    pytest.mark.engine_independent,
    pytest.mark.filterwarnings(
        "ignore:This process .* is multi-threaded, use of fork:DeprecationWarning"
    ),
]
#: Exit statuses of the processes of the cross-process test.
GRANTED, REFUSED = 0, 3


@pytest.fixture(params=["local", "redis", "cluster"])
def store(request: pytest.FixtureRequest) -> LeaseStore:
    """The lease store on each backend."""
    if request.param != "local":
        request.getfixturevalue(
            "on_redis" if request.param == "redis" else "on_cluster"
        )
    return lease_store()


def take(store: LeaseStore, owner: str, *, per_owner: int = 2, total: int = 3,
         ttl_seconds: float = 30) -> Any:  # fmt: skip
    return store.acquire(GROUP, owner, per_owner=per_owner, total=total,
                         ttl_seconds=ttl_seconds)  # fmt: skip


def test_an_owner_gets_its_cap_and_all_owners_the_total(store: LeaseStore) -> None:
    # Given two leases of lab 1 (its cap)
    first = take(store, "lab:1")
    take(store, "lab:1")

    # when lab 1 asks again, then its own cap refuses it
    with pytest.raises(LeaseRefused) as owner_full:
        take(store, "lab:1")
    # and once lab 2 holds the third, the total refuses lab 3
    take(store, "lab:2")
    with pytest.raises(LeaseRefused) as all_full:
        take(store, "lab:3")

    assert (owner_full.value.scope, owner_full.value.limit) == (OWNER, 2)
    assert (all_full.value.scope, all_full.value.limit) == (TOTAL, 3)
    assert store.held(GROUP) == 3
    assert (store.held(GROUP, "lab:1"), store.held(GROUP, "lab:3")) == (2, 0)
    # and a release frees a slot for anyone
    first.release()
    take(store, "lab:3")


def test_a_lease_is_released_at_the_end_of_its_block_even_on_error(
    store: LeaseStore,
) -> None:
    with pytest.raises(RuntimeError), take(store, "lab:1", per_owner=1):
        assert store.held(GROUP, "lab:1") == 1
        raise RuntimeError("the work failed")

    assert store.held(GROUP) == 0
    lease = take(store, "lab:1", per_owner=1)
    lease.release()
    lease.release()  # twice: harmless
    assert store.held(GROUP) == 0


def test_a_lease_never_released_expires_by_itself(store: LeaseStore) -> None:
    take(store, "lab:1", per_owner=1, ttl_seconds=0.3)
    with pytest.raises(LeaseRefused):
        take(store, "lab:1", per_owner=1)

    time.sleep(0.5)

    assert store.held(GROUP) == 0
    take(store, "lab:1", per_owner=1)


def test_the_caps_hold_across_threads(store: LeaseStore) -> None:
    # Given 16 threads asking for one of 3 slots at the same moment
    start = threading.Barrier(16)
    granted: list[bool] = []

    def ask() -> None:
        start.wait()
        try:
            take(store, "lab:1", per_owner=16, total=3)
            granted.append(True)
        except LeaseRefused:
            granted.append(False)

    threads = [threading.Thread(target=ask) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert granted.count(True) == 3


def _ask_in_another_process(start: Any, release: Any) -> None:
    try:  # (the client registry starts afresh in a forked process)
        start.wait()
        lease = lease_store().acquire(GROUP, "lab:1", per_owner=2, total=10,
                                      ttl_seconds=30)  # fmt: skip
    except LeaseRefused:
        os._exit(REFUSED)
    release.wait(30)
    lease.release()
    os._exit(GRANTED)


@pytest.mark.parametrize("backend", ["on_redis", "on_cluster"])
def test_on_redis_the_caps_hold_across_processes(
    request: pytest.FixtureRequest, backend: str
) -> None:
    # Given 6 processes asking for lab 1's 2 slots at the same moment
    request.getfixturevalue(backend)
    fork = multiprocessing.get_context("fork")
    start, release = fork.Barrier(6), fork.Event()
    askers = [
        fork.Process(target=_ask_in_another_process, args=(start, release))
        for _ in range(6)
    ]
    for asker in askers:
        asker.start()

    # then exactly 2 hold one, and this process sees them held
    refused: list[Any] = []
    deadline = time.monotonic() + 30
    while len(refused) < 4 and time.monotonic() < deadline:
        refused = [a for a in askers if a.exitcode == REFUSED]
        time.sleep(0.05)
    assert len(refused) == 4
    assert lease_store().held(GROUP, "lab:1") == 2
    release.set()
    for asker in askers:
        asker.join(timeout=30)
    assert sorted(a.exitcode for a in askers) == [GRANTED] * 2 + [REFUSED] * 4
    assert lease_store().held(GROUP) == 0


def test_on_redis_a_killed_holders_lease_expires(on_redis: Any, tmp_path: Path) -> None:
    # Given a process that took lab 1's only slot for 1 s and was then killed
    held = tmp_path / "held"
    holder = os.fork()
    if holder == 0:
        try:
            take(lease_store(), "lab:1", per_owner=1, ttl_seconds=1)
            held.touch()
            os.kill(os.getpid(), signal.SIGKILL)
        finally:
            os._exit(1)
    wait_for_file(held)
    os.waitpid(holder, 0)
    assert process_gone(holder)

    # then the slot is taken until the lease expires, and free after
    with pytest.raises(LeaseRefused):
        take(lease_store(), "lab:1", per_owner=1)
    time.sleep(1.2)
    take(lease_store(), "lab:1", per_owner=1)


def test_with_redis_down_the_caps_hold_per_process(
    faulty_redis: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # Given Redis gone
    faulty_redis.stop()

    # when leases are asked for, then this process's own store caps them
    with caplog.at_level(logging.WARNING, logger="core.ratelimit.leases"):
        lease = acquire_lease(GROUP, "lab:1", per_owner=1, total=5, ttl_seconds=30)
        with pytest.raises(LeaseRefused):
            acquire_lease(GROUP, "lab:1", per_owner=1, total=5, ttl_seconds=30)
        lease.release()
        acquire_lease(GROUP, "lab:1", per_owner=1, total=5, ttl_seconds=30)

    assert isinstance(lease.store, LocalLeaseStore)
    assert "held per process while Redis is down" in caplog.text


def test_the_store_follows_the_cache_service(settings: Any, on_redis: Any) -> None:
    assert isinstance(lease_store(), RedisLeaseStore)
    take(lease_store(), "lab:12")
    assert on_redis.client().zcard("lease:{tests}:lab:12") == 1

    settings.SERVICES = {
        **settings.SERVICES,
        "cache": cache_service("local"),
    }
    registry.reset()
    assert isinstance(lease_store(), LocalLeaseStore)
    assert lease_store() is lease_store()  # one store per cache client
