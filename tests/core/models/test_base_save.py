"""BaseModel.save(): order of hooks, one transaction, rollback, versioning."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from core.exceptions import VersionConflict
from core.models import ActivityLog
from tests.conftest import requires_postgresql
from tests.lifecycle.models import HookFailure, Instrument, PortableInstrument

pytestmark = pytest.mark.django_db


def new_instrument(**fields: object) -> Instrument:
    values = {"name": "Analyser", "serial": "SN-1", **fields}
    return Instrument(**values)


def test_save_runs_validate_before_save_write_after_save_in_one_transaction():
    instrument = new_instrument()

    instrument.save()

    assert [hook for hook, _ in instrument.calls] == [
        "validate",
        "before_save",
        "after_save",
    ]
    assert all(in_atomic for _, in_atomic in instrument.calls)
    assert Instrument.objects.filter(pk=instrument.pk).exists()


def test_hooks_are_told_whether_the_save_creates():
    seen = []

    class Recording(Instrument):
        class Meta:
            proxy = True
            app_label = "lifecycle_tests"

        def after_save(self, *args, **kwargs):
            seen.append(kwargs["created"])

    instrument = Recording(name="A", serial="1")
    instrument.save()
    instrument.save()

    assert seen == [True, False]


def test_validation_error_aborts_before_anything_is_written():
    instrument = new_instrument(serial="")

    with pytest.raises(ValidationError) as excinfo:
        instrument.save()

    assert excinfo.value.message_dict == {"serial": ["This field is required."]}
    assert [hook for hook, _ in instrument.calls] == ["validate"]
    assert not Instrument.objects.exists()
    assert instrument.pk is None


@pytest.mark.parametrize("failing_hook", ["before_save", "after_save"])
def test_an_error_after_validation_rolls_the_insert_back(failing_hook):
    instrument = new_instrument()
    instrument.fail_in = failing_hook

    with pytest.raises(HookFailure):
        instrument.save()

    assert not Instrument.objects.exists()
    # The instance is as it was, so it can be corrected and saved again.
    assert instrument.pk is None
    assert instrument._state.adding
    assert instrument.version == 0
    instrument.fail_in = None
    instrument.save()
    assert Instrument.objects.get().version == 1


def test_an_error_in_after_save_rolls_the_update_back():
    instrument = new_instrument(name="Before")
    instrument.save()
    instrument.name = "After"
    instrument.fail_in = "after_save"

    with pytest.raises(HookFailure):
        instrument.save()

    row = Instrument.objects.get(pk=instrument.pk)
    assert (row.name, row.version) == ("Before", 1)
    assert instrument.version == 1
    instrument.fail_in = None
    instrument.save()  # not a conflict: the failed save left no trace
    assert Instrument.objects.get(pk=instrument.pk).name == "After"


def test_inside_an_outer_transaction_a_failed_save_rolls_back_only_itself():
    with transaction.atomic():
        kept = new_instrument(name="Kept")
        kept.save()
        failing = new_instrument(name="Failing")
        failing.fail_in = "after_save"
        with pytest.raises(HookFailure):
            failing.save()

    assert list(Instrument.objects.values_list("name", flat=True)) == ["Kept"]


def test_a_multi_table_child_saves_both_rows_and_logs_each_change_once():
    portable = PortableInstrument(name="Field analyser", serial="P1")
    portable.save()
    portable.battery_hours = 10
    portable.save()

    entries = ActivityLog.objects.filter(
        model_label="lifecycle_tests.portableinstrument"
    ).order_by("id")
    assert [e.action for e in entries] == ["create", "update"]
    assert entries[1].changes == {"battery_hours": {"old": 8, "new": 10}}
    stored = PortableInstrument.objects.get(pk=portable.pk)
    assert (stored.name, stored.battery_hours, stored.version) == (
        "Field analyser", 10, 2
    )  # fmt: skip


def test_every_save_bumps_the_version_and_updated_at():
    instrument = new_instrument()
    instrument.save()
    first_updated = instrument.updated_at
    assert instrument.version == 1
    assert instrument.created_at == first_updated

    instrument.save()

    assert instrument.version == 2
    assert instrument.updated_at > first_updated
    assert Instrument.objects.get(pk=instrument.pk).version == 2


def test_a_save_from_a_stale_copy_raises_a_conflict_and_keeps_the_other_edit():
    instrument = new_instrument(name="Original")
    instrument.save()
    first_copy = Instrument.objects.get(pk=instrument.pk)
    second_copy = Instrument.objects.get(pk=instrument.pk)
    first_copy.name = "First technician"
    first_copy.save()
    second_copy.name = "Second technician"

    with pytest.raises(VersionConflict) as excinfo:
        second_copy.save()

    assert "changed by someone else" in str(excinfo.value)
    assert (excinfo.value.loaded_version, excinfo.value.current_version) == (1, 2)
    assert Instrument.objects.get(pk=instrument.pk).name == "First technician"
    assert second_copy.version == 1  # still the stale version: reload to retry


def test_update_fields_saves_are_versioned_too():
    instrument = new_instrument()
    instrument.save()
    stale = Instrument.objects.get(pk=instrument.pk)
    instrument.name = "Renamed"
    instrument.save(update_fields=["name"])

    stale.channels = 4
    with pytest.raises(VersionConflict):
        stale.save(update_fields=["channels"])

    assert Instrument.objects.get(pk=instrument.pk).version == 2


def test_a_save_of_a_row_deleted_meanwhile_is_a_conflict():
    instrument = new_instrument()
    instrument.save()
    copy = Instrument.objects.get(pk=instrument.pk)
    instrument.delete()

    with pytest.raises(VersionConflict, match="deleted by someone else"):
        copy.save()

    assert not Instrument.objects.exists()


def test_a_new_instance_with_an_existing_primary_key_never_overwrites():
    instrument = new_instrument(name="Real")
    instrument.save()

    clash = new_instrument(name="Impostor")
    clash.pk = instrument.pk
    with pytest.raises(IntegrityError):
        clash.save()

    assert Instrument.objects.get(pk=instrument.pk).name == "Real"


def test_force_update_of_an_unsaved_instance_is_refused():
    with pytest.raises(ValueError, match="has not been saved yet"):
        new_instrument().save(force_update=True)


def test_objects_create_goes_through_the_same_path():
    with pytest.raises(ValidationError):
        Instrument.objects.create(name="No serial")

    created = Instrument.objects.create(name="A", serial="1")
    assert created.version == 1


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_concurrent_saves_of_one_row_let_exactly_one_win():
    instrument = new_instrument(channels=1)
    instrument.save()
    both_loaded = threading.Barrier(2)
    outcomes: list[str] = []

    def technician(channels: int) -> None:
        try:
            copy = Instrument.objects.get(pk=instrument.pk)
            both_loaded.wait(timeout=10)
            copy.channels = channels
            copy.save()
            outcomes.append("saved")
        except VersionConflict:
            outcomes.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=technician, args=(n,)) for n in (2, 3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["conflict", "saved"]
    assert Instrument.objects.get(pk=instrument.pk).version == 2
