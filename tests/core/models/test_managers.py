"""Bulk writes on BaseModel querysets keep the save discipline or are refused."""

import pytest
from django.core.exceptions import ValidationError

from core.exceptions import HooksBypassError, VersionConflict
from tests.lifecycle.models import Instrument

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("call", "advice"),
    [
        (lambda: Instrument.objects.update(name="x"), "update_without_hooks"),
        (lambda: Instrument.objects.all().update(name="x"), "update_without_hooks"),
        (
            lambda: Instrument.objects.bulk_create([Instrument(name="a", serial="s")]),
            "save_many",
        ),
        (lambda: Instrument.objects.bulk_update([], ["name"]), "save_many"),
        (lambda: Instrument.objects.all().delete(), "delete_each"),
    ],
)
def test_bulk_writes_that_skip_the_hooks_are_refused_with_advice(call, advice):
    Instrument(name="Kept", serial="S").save()

    with pytest.raises(HooksBypassError, match=advice):
        call()

    assert list(Instrument.objects.values_list("name", flat=True)) == ["Kept"]


def test_save_many_runs_each_save_and_is_all_or_nothing():
    good = Instrument(name="Good", serial="1")
    bad = Instrument(name="Bad", serial="")

    with pytest.raises(ValidationError) as excinfo:
        Instrument.objects.save_many([good, bad])

    assert "while saving item 1 of 2" in excinfo.value.__notes__
    assert not Instrument.objects.exists()
    assert good.pk is None  # rolled back with the rest

    bad.serial = "2"
    saved = Instrument.objects.save_many([good, bad])
    assert [i.version for i in saved] == [1, 1]
    assert all(("after_save", True) in i.calls for i in saved)


def test_delete_each_runs_every_rows_delete_hooks():
    for serial in ("1", "2", "3"):
        Instrument(name="Old" if serial != "3" else "New", serial=serial).save()

    deleted = Instrument.objects.filter(name="Old").delete_each()

    assert deleted == 2
    assert list(Instrument.objects.values_list("serial", flat=True)) == ["3"]


def test_update_without_hooks_bumps_the_version_so_stale_copies_conflict():
    instrument = Instrument(name="A", serial="S", channels=1)
    instrument.save()

    count = Instrument.objects.filter(pk=instrument.pk).update_without_hooks(channels=8)

    assert count == 1
    row = Instrument.objects.get(pk=instrument.pk)
    assert (row.channels, row.version) == (8, 2)
    assert row.updated_at > instrument.updated_at
    instrument.name = "B"
    with pytest.raises(VersionConflict):
        instrument.save()
