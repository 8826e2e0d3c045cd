"""get_cached_instance / get_cached_instances / get_cached_list on every
backend: real instances equal to the row, invalidation after commit, lab
isolation, the key and TTL of the architecture note."""

import datetime as dt
import io
import uuid
from decimal import Decimal

import pytest
import redis
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from core.models.caching import DEFAULT_CACHE_TTL_SECONDS
from core.utils.capabilities import Capability
from core.utils.clients import registry
from tests.core.cache.conftest import use_cache
from tests.lifecycle.models import CatalogueTest, SingleRowCatalogue, Specimen

pytestmark = pytest.mark.django_db(transaction=True)


def make_specimen(lab, **fields) -> Specimen:
    values = {
        "label": "S-1",
        "collected_on": dt.date(2026, 2, 28),
        "received_at": dt.datetime(2026, 3, 1, 4, 5, 6, 789012, tzinfo=dt.UTC),
        "volume_ml": Decimal("2.500"),
        "results": {"glucose": {"value": 5.4, "unit": "mmol/L"}, "flags": ["H"]},
        "fasting": True,
        "notes": "Haemolysed ✓",
        **fields,
    }
    specimen = Specimen(lab=lab, **values)
    specimen.save()
    return specimen


def fields_of(instance) -> dict:
    return {
        f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields
    }


def test_the_key_and_ttl_follow_the_architecture_note(cache, labs):
    specimen = make_specimen(labs["north"])

    Specimen.get_cached_instance(specimen.pk, labs["north"].pk)

    key = f"Specimen_CentreId{labs['north'].pk}_List"
    assert Specimen.get_cache_key(labs["north"].pk) == key
    assert DEFAULT_CACHE_TTL_SECONDS == 7 * 24 * 60 * 60
    if cache.storage.can(Capability.SHARED_REDIS):
        client = cache.storage.redis_client()
        assert client.hexists(key, str(specimen.pk))
        assert 0 < client.ttl(key) <= DEFAULT_CACHE_TTL_SECONDS


def test_a_hit_is_a_real_instance_equal_field_by_field_to_the_row(
    cache, labs, django_assert_num_queries
):
    specimen = make_specimen(labs["north"])
    Specimen.get_cached_instance(specimen.pk, labs["north"].pk)  # fills

    with django_assert_num_queries(0):
        cached = Specimen.get_cached_instance(specimen.pk, labs["north"].pk)

    row = Specimen.objects.get(pk=specimen.pk)
    assert fields_of(cached) == fields_of(row)
    assert isinstance(cached.tracking_id, uuid.UUID)
    assert cached.received_at.tzinfo is not None
    assert not cached._state.adding
    assert cache.snapshot()["hits"] >= 1
    cached.notes = "edited from the cache"
    cached.save()  # a cached instance saves like a loaded one
    assert Specimen.objects.get(pk=specimen.pk).version == 2


def test_a_save_invalidates_after_commit_and_the_next_read_is_fresh(cache, labs):
    specimen = make_specimen(labs["north"])
    Specimen.get_cached_instance(specimen.pk, labs["north"].pk)

    specimen.label = "S-1 relabelled"
    specimen.save()

    fresh = Specimen.get_cached_instance(specimen.pk, labs["north"].pk)
    assert (fresh.label, fresh.version) == ("S-1 relabelled", 2)


def test_a_rolled_back_save_leaves_the_cache_as_it_was(cache, labs):
    specimen = make_specimen(labs["north"])
    Specimen.get_cached_instance(specimen.pk, labs["north"].pk)
    hits_before = cache.snapshot()["hits"]

    with pytest.raises(RuntimeError), transaction.atomic():
        specimen.label = "never committed"
        specimen.save()
        raise RuntimeError("roll back")

    cached = Specimen.get_cached_instance(specimen.pk, labs["north"].pk)
    assert cached.label == "S-1"
    assert cache.snapshot()["hits"] == hits_before + 1  # still cached


def test_a_read_inside_a_transaction_fills_only_after_commit(cache, labs):
    specimen = make_specimen(labs["north"])
    key = Specimen.get_cache_key(labs["north"].pk)

    with pytest.raises(RuntimeError), transaction.atomic():
        specimen.label = "uncommitted"
        specimen.save()
        inside = Specimen.get_cached_instance(specimen.pk, labs["north"].pk)
        assert inside.label == "uncommitted"
        raise RuntimeError("roll back")

    assert cache.get(key, str(specimen.pk)) is None
    assert Specimen.get_cached_instance(specimen.pk, labs["north"].pk).label == "S-1"


def test_a_delete_invalidates_and_the_row_is_then_not_found(cache, labs):
    specimen = make_specimen(labs["north"])
    Specimen.get_cached_instance(specimen.pk, labs["north"].pk)
    pk = specimen.pk

    specimen.delete()

    with pytest.raises(Specimen.DoesNotExist):
        Specimen.get_cached_instance(pk, labs["north"].pk)


def test_another_labs_row_is_never_found_or_cached_under_this_labs_key(cache, labs):
    mine = make_specimen(labs["north"], label="North's")
    theirs = make_specimen(labs["south"], label="South's")

    with pytest.raises(Specimen.DoesNotExist):
        Specimen.get_cached_instance(theirs.pk, labs["north"].pk)
    found = Specimen.get_cached_instances([mine.pk, theirs.pk], labs["north"].pk)

    assert list(found) == [mine.pk]
    north_key = Specimen.get_cache_key(labs["north"].pk)
    assert cache.get(north_key, str(theirs.pk)) is None
    assert Specimen.get_cached_instance(theirs.pk, labs["south"].pk).label == "South's"


def test_a_row_moved_to_another_lab_leaves_no_entry_under_the_old_key(cache, labs):
    specimen = make_specimen(labs["north"])
    Specimen.get_cached_instance(specimen.pk, labs["north"].pk)

    specimen.lab = labs["south"]
    specimen.save()

    with pytest.raises(Specimen.DoesNotExist):
        Specimen.get_cached_instance(specimen.pk, labs["north"].pk)
    assert Specimen.get_cached_instance(specimen.pk, labs["south"].pk).version == 2


def test_get_cached_instances_is_one_read_and_one_query_for_the_misses(
    cache, labs, django_assert_num_queries
):
    specimens = [make_specimen(labs["north"], label=f"S-{i}") for i in range(5)]
    ids = [s.pk for s in specimens]
    Specimen.get_cached_instance(ids[0], labs["north"].pk)

    with django_assert_num_queries(1):
        found = Specimen.get_cached_instances([*ids, 999_999], labs["north"].pk)
    with django_assert_num_queries(0):
        again = Specimen.get_cached_instances(ids, labs["north"].pk)

    assert sorted(found) == ids
    assert [again[i].label for i in ids] == [f"S-{i}" for i in range(5)]


def test_a_list_model_caches_the_labs_whole_list(
    cache, labs, django_assert_num_queries
):
    for code in ("CBC", "LFT", "TSH"):
        CatalogueTest(lab=labs["north"], code=code, price=Decimal("100.00")).save()
    CatalogueTest(lab=labs["south"], code="KFT", price=Decimal("80.00")).save()

    first = CatalogueTest.get_cached_list(labs["north"].pk)
    with django_assert_num_queries(0):
        second = CatalogueTest.get_cached_list(labs["north"].pk)
        one = CatalogueTest.get_cached_instance(first[1].pk, labs["north"].pk)

    assert [t.code for t in first] == [t.code for t in second] == ["CBC", "LFT", "TSH"]
    assert one.code == "LFT"


def test_adding_to_a_list_makes_the_next_list_read_complete(cache, labs):
    CatalogueTest(lab=labs["north"], code="CBC", price=Decimal("100.00")).save()
    assert len(CatalogueTest.get_cached_list(labs["north"].pk)) == 1

    CatalogueTest(lab=labs["north"], code="HBA1C", price=Decimal("450.00")).save()

    assert [t.code for t in CatalogueTest.get_cached_list(labs["north"].pk)] == [
        "CBC",
        "HBA1C",
    ]


def test_a_list_model_without_single_row_caching_fills_the_whole_list(cache, labs):
    tests = [
        CatalogueTest(lab=labs["north"], code=c, price=Decimal("1.00")) for c in "AB"
    ]
    CatalogueTest.objects.save_many(tests)

    CatalogueTest.get_cached_instance(tests[0].pk, labs["north"].pk)

    _, rows = cache.get_list(CatalogueTest.get_cache_key(labs["north"].pk))
    assert rows is not None and set(rows) == {str(t.pk) for t in tests}


def test_single_row_caching_of_a_list_model_does_not_fake_a_complete_list(cache, labs):
    tests = [
        CatalogueTest(lab=labs["north"], code=c, price=Decimal("1.00")) for c in "AB"
    ]
    CatalogueTest.objects.save_many(tests)

    SingleRowCatalogue.get_cached_instance(tests[0].pk, labs["north"].pk)

    _, rows = cache.get_list(CatalogueTest.get_cache_key(labs["north"].pk))
    assert rows is None  # one row cached, the list is not
    assert len(SingleRowCatalogue.get_cached_list(labs["north"].pk)) == 2


def test_reset_cache_instance_evicts_a_row(cache, labs):
    specimen = make_specimen(labs["north"])
    Specimen.get_cached_instance(specimen.pk, labs["north"].pk)
    Specimen.objects.filter(pk=specimen.pk).update_without_hooks(label="fixed by hand")

    Specimen.reset_cache_instance(specimen.pk, labs["north"].pk)

    assert Specimen.get_cached_instance(specimen.pk, labs["north"].pk).label == (
        "fixed by hand"
    )


def test_a_lab_scoped_key_needs_the_lab():
    with pytest.raises(ValueError, match="pass the lab_id"):
        Specimen.get_cache_key(None)


# -- operators' fix-ups after a restore: rows newer than the database ---------


def restore_older_row(specimen: Specimen, label: str) -> None:
    """What a restore from backup does: the row goes back to version 1 with
    older content, below the version the cache holds."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Specimen._meta.db_table} SET version = 1, label = %s "  # noqa: S608
            "WHERE id = %s",
            [label, specimen.pk],
        )


def cached_newer_than_the_database(lab) -> Specimen:
    specimen = make_specimen(lab)
    for label in ("S-2", "S-3"):
        specimen.label = label
        specimen.save()
    Specimen.get_cached_instance(specimen.pk, lab.pk)  # version 3 cached
    restore_older_row(specimen, "restored")
    return specimen


def test_reset_cache_instance_evicts_a_row_newer_than_the_database(cache, labs):
    specimen = cached_newer_than_the_database(labs["north"])
    assert Specimen.get_cached_instance(specimen.pk, labs["north"].pk).label == "S-3"

    Specimen.reset_cache_instance(specimen.pk, labs["north"].pk)

    fresh = Specimen.get_cached_instance(specimen.pk, labs["north"].pk)
    assert (fresh.label, fresh.version) == ("restored", 1)
    # and the restored row is cached again, not refused by the tombstone
    assert cache.get(Specimen.get_cache_key(labs["north"].pk), str(specimen.pk))


def test_cache_purge_drops_every_labs_rows_however_new(cache, labs):
    north = cached_newer_than_the_database(labs["north"])
    south = cached_newer_than_the_database(labs["south"])
    out = io.StringIO()

    call_command("cache_purge", "--model", Specimen._meta.label, stdout=out)

    assert f"{Specimen._meta.label}: 2 hash(es) dropped" in out.getvalue()
    for specimen, lab in ((north, labs["north"]), (south, labs["south"])):
        assert Specimen.get_cached_instance(specimen.pk, lab.pk).label == "restored"


def test_cache_purge_of_one_lab_leaves_the_others(cache, labs):
    north = cached_newer_than_the_database(labs["north"])
    south = cached_newer_than_the_database(labs["south"])

    call_command("cache_purge", "--lab", str(labs["north"].pk), stdout=io.StringIO())

    assert Specimen.get_cached_instance(north.pk, labs["north"].pk).label == "restored"
    assert Specimen.get_cached_instance(south.pk, labs["south"].pk).label == "S-3"


def test_cache_purge_without_models_covers_every_caching_model(cache, labs):
    out = io.StringIO()

    call_command("cache_purge", stdout=out)

    assert f"{Specimen._meta.label}: " in out.getvalue()
    assert f"{CatalogueTest._meta.label}: " in out.getvalue()


def test_cache_purge_names_what_is_not_a_caching_model(cache):
    with pytest.raises(CommandError, match=r"Not a caching model: auth\.Group"):
        call_command("cache_purge", "--model", "auth.Group")


def test_the_fix_ups_fail_loudly_when_the_cache_is_unreachable(settings, labs):
    use_cache(settings, "redis", url="redis://127.0.0.1:9/0")
    specimen = make_specimen(labs["north"])

    with pytest.raises(CommandError, match="The cache did not answer"):
        call_command("cache_purge", stdout=io.StringIO())
    with pytest.raises(redis.exceptions.ConnectionError):
        Specimen.reset_cache_instance(specimen.pk, labs["north"].pk)
    registry.reset()
