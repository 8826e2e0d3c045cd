"""Building blocks of domain actions (core/models/actions.py): instances put
back as they were when an action raises, and the actor it names."""

import pytest
from django.db import transaction

from core.models import ActivityLog
from core.models.actions import acting, unchanged_on_failure
from core.utils.activity_log.context import Actor, ActorKind, acting_as, current_actor
from tests.lifecycle.models import Instrument

pytestmark = pytest.mark.django_db

TECHNICIAN = Actor(id="7", name="Asha Rao", role="technician", kind=ActorKind.STAFF)


class StepFailed(Exception):
    """A later step of an action failing."""


def test_a_failed_action_puts_saved_instances_back_and_they_save_again():
    instrument = Instrument(name="Analyser", serial="SN-1")
    instrument.save()

    with (
        pytest.raises(StepFailed),
        transaction.atomic(),
        unchanged_on_failure(instrument),
    ):
        instrument.name = "Renamed"
        instrument.save()
        raise StepFailed

    assert (instrument.name, instrument.version) == ("Analyser", 1)
    instrument.serial = "SN-2"
    instrument.save()  # at the version the database has: no VersionConflict
    entry = ActivityLog.objects.filter(instance_id=str(instrument.pk)).latest("id")
    assert set(entry.changes) == {"serial"}  # measured against what committed


def test_a_failed_action_puts_a_new_instance_back_unsaved():
    instrument = Instrument(name="Analyser", serial="SN-1")

    with (
        pytest.raises(StepFailed),
        transaction.atomic(),
        unchanged_on_failure(instrument),
    ):
        instrument.save()
        raise StepFailed

    assert instrument.pk is None and instrument._state.adding
    instrument.save()
    assert Instrument.objects.filter(pk=instrument.pk).exists()


def test_an_action_that_succeeds_keeps_its_changes():
    instrument = Instrument(name="Analyser", serial="SN-1")

    with unchanged_on_failure(instrument):
        instrument.save()

    assert instrument.pk is not None and instrument.version == 1


def test_acting_names_the_actor_or_leaves_the_contexts():
    with acting_as(TECHNICIAN), acting(None):
        inherited = current_actor()
    with acting(TECHNICIAN):
        named = current_actor()

    assert inherited == named == TECHNICIAN
    assert current_actor().kind == ActorKind.SYSTEM
