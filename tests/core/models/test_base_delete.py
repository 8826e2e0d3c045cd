"""BaseModel.delete(): hooks in one transaction, rollback, stale copies."""

import pytest

from core.exceptions import VersionConflict
from tests.lifecycle.models import HookFailure, Instrument

pytestmark = pytest.mark.django_db


def saved_instrument() -> Instrument:
    instrument = Instrument(name="A", serial="S")
    instrument.save()
    instrument.calls.clear()
    return instrument


def test_delete_runs_before_delete_then_after_delete_in_one_transaction():
    instrument = saved_instrument()

    instrument.delete()

    assert instrument.calls == [("before_delete", True), ("after_delete", True)]
    assert not Instrument.objects.exists()


@pytest.mark.parametrize("failing_hook", ["before_delete", "after_delete"])
def test_an_error_in_a_delete_hook_keeps_the_row(failing_hook):
    instrument = saved_instrument()
    pk = instrument.pk
    instrument.fail_in = failing_hook

    with pytest.raises(HookFailure):
        instrument.delete()

    assert Instrument.objects.filter(pk=pk).exists()
    assert instrument.pk == pk


def test_a_delete_from_a_stale_copy_is_a_conflict():
    instrument = saved_instrument()
    stale = Instrument.objects.get(pk=instrument.pk)
    instrument.name = "Edited"
    instrument.save()

    with pytest.raises(VersionConflict):
        stale.delete()

    assert Instrument.objects.get(pk=instrument.pk).name == "Edited"
