"""BaseModel's webhook hook: a `webhook_enabled` model's creates, updates
and deletes become events in the same transaction, delivered once per
subscribed endpoint after commit; a rolled-back change sends nothing; a lab
without endpoints pays one indexed query."""

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult

from core.models.webhook import WebhookDelivery, WebhookEvent
from core.webhooks import WebhookEventsMixin
from patients.models import Patient
from tests.core.webhooks.fixtures import new_patient
from tests.lifecycle.models import Instrument
from tests.standins.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.django_db(transaction=True)


class Rollback(Exception):
    """Raised to roll a test's transaction back."""


class QuietPatient(Patient):
    """A patient whose saves send no webhooks, to measure what webhooks cost."""

    webhook_enabled = False

    class Meta:
        proxy = True
        app_label = "lifecycle_tests"


class WebhookInstrument(WebhookEventsMixin, Instrument):
    """A model that is not lab-scoped but asks for webhooks: a mistake."""

    class Meta:
        proxy = True
        app_label = "lifecycle_tests"


class FailingPatient(Patient):
    """A patient whose after_save hook fails, rolling the save back."""

    class Meta:
        proxy = True
        app_label = "lifecycle_tests"

    def after_save(self, *args: Any, **kwargs: Any) -> None:
        raise Rollback


def event_types() -> list[str]:
    return list(
        WebhookEvent.objects.order_by("occurred_at").values_list(
            "event_type", flat=True
        )
    )


def test_create_update_and_delete_are_each_delivered_once_per_endpoint(
    labs, subscribe, receiver, deliver
):
    everything = subscribe(labs["north"], ["*"])
    with WebhookReceiver() as other:
        creations = subscribe(labs["north"], ["patient.created"], to=other)
        patient = new_patient(labs["north"])
        patient.first_name = "Asha Devi"
        patient.save()
        patient_id = patient.pk
        patient.delete()

        deliver()

    assert event_types() == ["patient.created", "patient.updated", "patient.deleted"]
    assert [r.payload["type"] for r in receiver.verified()] == event_types()
    assert [r.payload["type"] for r in other.verified()] == ["patient.created"]
    ids = [r.headers["webhook-id"] for r in receiver.verified()]
    assert len(set(ids)) == 3
    assert receiver.problems == other.problems == []
    assert everything.deliveries.count() == 3 and creations.deliveries.count() == 1
    deleted = receiver.verified()[-1].payload["data"]["object"]
    assert (deleted["id"], deleted["first_name"]) == (patient_id, "Asha Devi")


def test_an_update_names_the_changed_fields_and_an_unchanged_save_sends_nothing(
    labs, subscribe
):
    subscribe(labs["north"], ["patient.updated"])
    patient = new_patient(labs["north"])

    patient.save()  # nothing changed
    patient.first_name = "Asha Devi"
    patient.phone = "+919812345678"
    patient.save()

    [event] = WebhookEvent.objects.all()
    assert event.payload["data"]["changed_fields"] == ["first_name", "phone"]
    assert event.payload["data"]["object"]["first_name"] == "Asha Devi"
    assert event.model_label == "patients.patient"
    assert event.object_id == str(patient.pk)


def test_a_rolled_back_save_sends_nothing(labs, subscribe, receiver, deliver):
    subscribe(labs["north"])

    with pytest.raises(Rollback), transaction.atomic():
        new_patient(labs["north"])
        assert WebhookEvent.objects.count() == 1  # recorded in the transaction
        raise Rollback

    assert not WebhookEvent.objects.exists()
    assert not WebhookDelivery.objects.exists()
    assert not DBTaskResult.objects.exists()
    deliver(max_tasks=1)
    assert receiver.requests == []


def test_a_save_rolled_back_by_its_own_hook_sends_nothing(labs, subscribe):
    subscribe(labs["north"])

    with pytest.raises(Rollback):
        FailingPatient(lab=labs["north"], first_name="Ravi", sex="M").save()

    assert not WebhookEvent.objects.exists()
    assert not DBTaskResult.objects.exists()


def test_only_the_records_own_lab_is_told(labs, subscribe):
    central = subscribe(labs["central"])  # north's parent
    south = subscribe(labs["south"])
    north_off = subscribe(labs["north"])
    north_off.disable("Paused by the lab")

    new_patient(labs["north"])

    assert not WebhookEvent.objects.exists()
    assert central.deliveries.count() == south.deliveries.count() == 0


def test_a_lab_without_endpoints_pays_one_indexed_query(labs, webhook_settings):
    lab = labs["north"]
    new_patient(lab)  # warm the per-process memos (lab parents, fields)
    QuietPatient(lab=lab, first_name="Warm", sex="F").save()

    with CaptureQueriesContext(connection) as quiet:
        QuietPatient(lab=lab, first_name="Ravi", sex="M").save()
    with CaptureQueriesContext(connection) as enabled:
        Patient(lab=lab, first_name="Ravi", sex="M").save()

    extra = [q["sql"] for q in enabled.captured_queries]
    assert len(enabled.captured_queries) == len(quiet.captured_queries) + 1
    assert sum("core_webhookendpoint" in sql for sql in extra) == 1
    assert not WebhookEvent.objects.exists()


def test_webhooks_need_a_lab_scoped_model():
    with pytest.raises(TypeError, match="needs LabScopedMixin"):
        WebhookInstrument(name="Analyser 3", serial="SN-3").save()

    assert not Instrument.objects.exists()


class FlaggedOnlyInstrument(Instrument):
    """The seed's flag set by hand, without WebhookEventsMixin."""

    webhook_enabled = True

    class Meta:
        proxy = True
        app_label = "lifecycle_tests"


def test_the_flag_without_the_mixin_is_refused_with_how_to_fix_it(db):
    with pytest.raises(
        ImproperlyConfigured, match=r"add core\.webhooks\.WebhookEventsMixin"
    ):
        FlaggedOnlyInstrument(name="Sysmex", serial="XN-1").save()

    assert not FlaggedOnlyInstrument.objects.exists()  # nothing half-written
