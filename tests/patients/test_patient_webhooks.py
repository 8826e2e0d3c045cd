"""Patients' webhook events: what they carry, and what they leave out."""

import datetime as dt

import pytest

from core.models.webhook import WebhookEvent
from core.utils.webhooks import known_event_types
from tests.core.webhooks.fixtures import new_patient

pytestmark = pytest.mark.django_db


def test_patient_events_are_subscribable():
    assert {"patient.created", "patient.updated", "patient.deleted"} <= set(
        known_event_types()
    )


def test_the_payload_identifies_the_patient_without_contact_details(labs, subscribe):
    subscribe(labs["north"])

    patient = new_patient(
        labs["north"],
        date_of_birth=dt.date(1990, 4, 1),
        phone="+91 98765 43210",
        email="Asha@Example.com",
    )

    [event] = WebhookEvent.objects.all()
    assert event.payload["data"] == {
        "object": {
            "id": patient.pk,
            "lab_id": labs["north"].pk,
            "first_name": "Asha",
            "last_name": "Rao",
            "sex": "F",
            "date_of_birth": "1990-04-01",
            "version": 1,
        }
    }
    assert "98765" not in event.body and "example.com" not in event.body.lower()
    assert "phone" not in event.body and "email" not in event.body
