"""LoadedStateMixin: the one snapshot of what an instance was loaded or
last saved with, and the public questions about it (initial_value,
has_changed, changed_fields, changes) that the activity log, the cache, webhooks and
domain models ask instead of reading a private attribute."""

import pytest

from tests.lifecycle.models import Instrument

pytestmark = pytest.mark.django_db


def saved_instrument() -> Instrument:
    instrument = Instrument(name="Sysmex", serial="XN-1")
    instrument.save()
    return Instrument.objects.get(pk=instrument.pk)


def test_a_new_instance_has_no_snapshot_and_everything_counts_as_changed():
    instrument = Instrument(name="Sysmex", serial="XN-1")

    assert instrument.loaded_state is None
    assert instrument.has_changed("name")
    assert instrument.initial_value("name") is None


def test_a_loaded_instance_answers_what_changed_since_it_was_read():
    instrument = saved_instrument()

    instrument.serial = "XN-2"

    assert instrument.has_changed("serial")
    assert not instrument.has_changed("name")
    assert instrument.initial_value("serial") == "XN-1"
    assert instrument.changed_fields() == {"serial"}


def test_a_save_makes_the_new_values_the_loaded_ones():
    instrument = saved_instrument()
    instrument.serial = "XN-2"

    instrument.save()

    assert instrument.changed_fields() == set()
    assert instrument.initial_value("serial") == "XN-2"


def test_changes_gives_each_changed_fields_old_and_new_value():
    instrument = saved_instrument()
    instrument.serial = "XN-2"

    assert instrument.changes() == {"serial": ("XN-1", "XN-2")}
    assert Instrument(name="Sysmex").changes()["name"] == (None, "Sysmex")


def test_after_save_receives_the_changes_and_the_reason_after_delete_the_reason():
    """after_save runs once the loaded state is the saved one, so it cannot
    ask has_changed(): it is handed what changed, and why."""
    instrument = saved_instrument()
    instrument.serial = "XN-2"

    instrument.save(reason="Serial misread")
    saved = instrument.hook_kwargs["after_save"]
    instrument.delete(reason="Decommissioned")

    assert saved["changes"]["serial"] == ("XN-1", "XN-2")
    assert set(saved["changes"]) == {"serial", "updated_at", "version"}
    assert saved["reason"] == "Serial misread"
    assert saved["created"] is False
    assert instrument.hook_kwargs["before_delete"] == {"reason": "Decommissioned"}
    assert instrument.hook_kwargs["after_delete"] == {"reason": "Decommissioned"}
