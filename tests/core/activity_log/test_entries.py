"""Automatic activity log entries: field-level, attributed, with reasons,
in the same transaction as the change."""

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from core.models import ActivityLog, AppendOnlyError
from core.models.activity_log_base import past_tense
from core.utils.activity_log.context import (
    Actor,
    ActorKind,
    RequestInfo,
    acting_as,
    in_request,
)
from patients.models import Patient
from tests.lifecycle.models import HookFailure, Instrument

pytestmark = pytest.mark.django_db

TECHNICIAN = Actor(id="12", name="Asha Rao", role="technician", kind=ActorKind.STAFF)


class ReleasedInstrument(Instrument):
    """An instrument that, once released to service, changes only with a reason."""

    class Meta:
        proxy = True
        app_label = "lifecycle_tests"

    def change_reason_required(self, action: str) -> bool:
        return self.channels > 1


def entries(instance: Any) -> list[ActivityLog]:
    return list(
        ActivityLog.objects.filter(
            model_label=instance._meta.label_lower, instance_id=str(instance.pk)
        ).order_by("id")
    )


def test_a_create_logs_its_initial_values_with_the_actor_and_request(labs):
    with (
        acting_as(TECHNICIAN),
        in_request(
            RequestInfo(request_id="req-1", client_ip="10.0.0.7", user_agent="pytest")
        ),
    ):
        patient = Patient(lab=labs["north"], first_name="Asha", sex="F")
        patient.save()

    [entry] = entries(patient)
    assert entry.action == "create" and entry.category_id == 1
    assert entry.changes["first_name"] == {"old": None, "new": "Asha"}
    assert "version" not in entry.changes and "updated_at" not in entry.changes
    assert (entry.actor_id, entry.actor_name, entry.actor_role, entry.actor_kind) == (
        "12", "Asha Rao", "technician", "staff",
    )  # fmt: skip
    assert (entry.request_id, entry.client_ip, entry.user_agent) == (
        "req-1", "10.0.0.7", "pytest",
    )  # fmt: skip
    assert entry.lab_id == labs["north"].pk
    assert entry.parent_lab_id == labs["central"].pk
    assert entry.created_at.tzinfo is not None


def test_an_update_logs_only_the_changed_fields_old_and_new(django_assert_num_queries):
    instrument = Instrument(name="Analyser", serial="S1", channels=1)
    instrument.save()
    loaded = Instrument.objects.get(pk=instrument.pk)
    loaded.channels = 4

    loaded.save()

    update = entries(loaded)[-1]
    assert update.action == "update"
    assert update.changes == {"channels": {"old": 1, "new": 4}}
    assert update.actor_kind == "system"  # no actor set: the system did it


def test_a_save_that_changes_nothing_logs_nothing():
    instrument = Instrument(name="Analyser", serial="S1")
    instrument.save()

    Instrument.objects.get(pk=instrument.pk).save()

    assert [e.action for e in entries(instrument)] == ["create"]


def test_a_delete_logs_the_last_state():
    instrument = Instrument(name="Analyser", serial="S1", channels=2)
    instrument.save()
    pk = instrument.pk

    instrument.delete()

    last = ActivityLog.objects.filter(instance_id=str(pk)).order_by("id").last()
    assert last.action == "delete"
    assert last.changes["channels"] == {"old": 2, "new": None}


def test_a_rolled_back_save_leaves_no_entry():
    with pytest.raises(RuntimeError), transaction.atomic():
        Instrument(name="Analyser", serial="S1").save()
        raise RuntimeError("roll back")

    assert not ActivityLog.objects.exists()


def test_a_save_rolled_back_after_its_write_logs_its_changes_when_retried():
    instrument = Instrument(name="Analyser", serial="S1", channels=1)
    instrument.save()
    instrument.channels = 4
    instrument.fail_in = "after_save"

    with pytest.raises(HookFailure):
        instrument.save()
    instrument.fail_in = None
    instrument.save()

    assert entries(instrument)[-1].changes == {"channels": {"old": 1, "new": 4}}


def test_sensitive_fields_are_logged_as_changed_but_masked(labs, settings):
    class MaskedPatient(Patient):
        sensitive_fields = ("phone",)

        class Meta:
            proxy = True
            app_label = "patients"

    patient = MaskedPatient(
        lab=labs["north"], first_name="A", sex="F", phone="9876543210"
    )
    patient.save()

    [entry] = entries(patient)
    assert entry.changes["phone"] == {"old": None, "new": "***"}


def test_a_change_that_needs_a_reason_is_refused_without_one():
    instrument = ReleasedInstrument(name="Analyser", serial="S1", channels=2)
    instrument.save()
    instrument.name = "Renamed"

    with pytest.raises(ValidationError) as excinfo:
        instrument.save()
    with pytest.raises(ValidationError):
        instrument.delete()

    assert "with a reason" in excinfo.value.message_dict["reason"][0]
    instrument.save(reason="Renamed after the service visit")
    assert entries(instrument)[-1].reason == "Renamed after the service visit"


def test_entries_cannot_be_changed_or_deleted_through_the_orm():
    Instrument(name="Analyser", serial="S1").save()
    entry = ActivityLog.objects.get()

    entry.message = "rewritten"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        ActivityLog.objects.update(message="x")
    with pytest.raises(AppendOnlyError):
        ActivityLog.objects.all().delete()


def test_get_activities_is_newest_first_filtered_and_lab_scoped(labs):
    patient = Patient(lab=labs["north"], first_name="A", sex="F")
    patient.save()
    for name in ("B", "C", "D"):
        patient.first_name = name
        patient.save()

    page = Patient.get_activities(patient.pk, lab_id=labs["north"].pk, limit=2)
    rest = Patient.get_activities(
        patient.pk, lab_id=labs["north"].pk, limit=2, cursor=page.next_cursor
    )
    updates = Patient.get_activities(
        patient.pk, lab_id=labs["central"].pk, action="update"
    )
    today = dt.datetime.now(tz=labs["north"].zone).date()
    by_day = Patient.get_activities(patient.pk, today, today, lab_id=labs["north"].pk)

    assert [e.changes.get("first_name", {}).get("new") for e in page.entries] == [
        "D",
        "C",
    ]
    assert [e.action for e in rest.entries] == ["update", "create"]
    assert rest.next_cursor is None
    assert len(updates.entries) == 3  # the parent lab reads its child's entries
    assert len(by_day.entries) == 4
    assert Patient.get_activities(patient.pk, lab_id=labs["south"].pk).entries == []
    assert (
        Patient.get_activities(patient.pk, lab_id=labs["north_clinic"].pk).entries == []
    )


def test_get_activities_without_a_lab_for_a_lab_scoped_model_is_an_error(labs):
    """A silently empty page hides a forgotten lab_id; the cache's reads
    raise for the same mistake, and so does this one."""
    patient = Patient(lab=labs["north"], first_name="A", sex="F")
    patient.save()

    with pytest.raises(ValueError, match=r"patients\.patient is lab-scoped"):
        Patient.get_activities(patient.pk)
    instrument = Instrument(name="Analyser", serial="SN-1")
    instrument.save()  # no lab: readable without one
    assert [e.action for e in Instrument.get_activities(instrument.pk).entries] == [
        "create"
    ]


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ("create", "created"),
        ("update", "updated"),
        ("delete", "deleted"),
        ("print", "printed"),
        ("verify", "verified"),
        ("release", "released"),
        ("pdf_stored", "pdf_stored"),
    ],
)
def test_the_default_entry_message_reads_as_english_for_any_action(action, message):
    assert past_tense(action) == message
