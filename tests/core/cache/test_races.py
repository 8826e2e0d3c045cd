"""No stale entries: a reader that read a row before a writer's commit can
never leave that old row in the cache, whatever order things arrive in."""

import contextlib
import random
import threading

import pytest
from django.db import connection, transaction

from core.exceptions import VersionConflict
from tests.conftest import requires_postgresql
from tests.lifecycle.models import Specimen

pytestmark = pytest.mark.django_db(transaction=True)


def cached_version(cache, specimen) -> int | None:
    value = cache.get(Specimen.get_cache_key(specimen.lab_id), str(specimen.pk))
    return None if value is None else value.version


def new_specimen(lab) -> Specimen:
    specimen = Specimen(lab=lab, label="v1")
    specimen.save()
    return specimen


def edit(specimen_pk: int, label: str) -> None:
    copy = Specimen.objects.get(pk=specimen_pk)
    copy.label = label
    copy.save()


@requires_postgresql
def test_a_fill_that_arrives_after_the_writers_invalidation_is_refused(
    redis_cache, labs
):
    """reader misses, reads v1 -> writer commits v2, tombstones -> reader fills v1."""
    specimen = new_specimen(labs["north"])
    read_done, write_done = threading.Event(), threading.Event()

    def slow_reader() -> None:
        try:
            with transaction.atomic():  # the fill waits for this commit
                seen = Specimen.get_cached_instance(specimen.pk, specimen.lab_id)
                assert seen.version == 1
                read_done.set()
                assert write_done.wait(timeout=10)
        finally:
            connection.close()

    reader = threading.Thread(target=slow_reader)
    reader.start()
    assert read_done.wait(timeout=10)
    edit(specimen.pk, "v2")  # commits and tombstones version 2
    write_done.set()
    reader.join(timeout=10)

    assert cached_version(redis_cache, specimen) is None  # the old row was refused
    assert redis_cache.snapshot()["fills_refused"] == 1
    assert Specimen.get_cached_instance(specimen.pk, specimen.lab_id).label == "v2"
    assert cached_version(redis_cache, specimen) == 2


@requires_postgresql
def test_an_invalidation_that_arrives_after_the_readers_fill_replaces_it(
    redis_cache, labs
):
    """writer saves v2 (not committed) -> reader reads v1, fills -> writer commits."""
    specimen = new_specimen(labs["north"])
    saved, filled = threading.Event(), threading.Event()

    def slow_writer() -> None:
        try:
            with transaction.atomic():
                edit(specimen.pk, "v2")
                saved.set()
                assert filled.wait(timeout=10)
        finally:
            connection.close()

    writer = threading.Thread(target=slow_writer)
    writer.start()
    assert saved.wait(timeout=10)
    assert Specimen.get_cached_instance(specimen.pk, specimen.lab_id).version == 1
    assert cached_version(redis_cache, specimen) == 1
    filled.set()
    writer.join(timeout=10)

    assert cached_version(redis_cache, specimen) is None  # tombstoned at 2
    assert Specimen.get_cached_instance(specimen.pk, specimen.lab_id).version == 2


def test_the_compare_and_set_refuses_an_older_row_on_every_backend(cache, labs):
    """The same interleaving, driven step by step through the cache itself."""
    specimen = new_specimen(labs["north"])
    key = Specimen.get_cache_key(specimen.lab_id)
    old_row = Specimen.objects.get(pk=specimen.pk)  # the slow reader's read

    edit(specimen.pk, "v2")  # writer commits; tombstone at version 2
    cache.fill(key, [_as_row(old_row)], Specimen.default_cache_ttl)  # late fill

    assert cache.get(key, str(specimen.pk)) is None
    assert Specimen.get_cached_instance(specimen.pk, specimen.lab_id).label == "v2"
    cache.fill(key, [_as_row(old_row)], Specimen.default_cache_ttl)  # later still
    assert cache.get(key, str(specimen.pk)).version == 2


@requires_postgresql
def test_concurrent_readers_and_writers_end_with_the_cache_equal_to_the_database(
    redis_cache, labs
):
    rows = [new_specimen(labs["north"]) for _ in range(3)]
    seed = random.randrange(1_000_000)  # noqa: S311
    errors: list[BaseException] = []

    def worker(number: int) -> None:
        chooser = random.Random(seed + number)  # noqa: S311
        try:
            for step in range(60):
                target = chooser.choice(rows)
                if chooser.random() < 0.35:
                    with contextlib.suppress(VersionConflict):  # another writer won
                        edit(target.pk, f"w{number}-{step}")
                else:
                    Specimen.get_cached_instance(target.pk, target.lab_id)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors, f"seed {seed}: {errors!r}"
    for row in rows:
        database = Specimen.objects.get(pk=row.pk)
        cached = redis_cache.get(Specimen.get_cache_key(row.lab_id), str(row.pk))
        if cached is not None:
            assert cached.version == database.version, f"seed {seed}"
        assert Specimen.get_cached_instance(row.pk, row.lab_id).label == database.label


def _as_row(instance: Specimen) -> tuple[str, int, str]:
    """What a reader stores for `instance` (the cache's own encoding)."""
    from core.models.caching import _row

    return _row(instance)
