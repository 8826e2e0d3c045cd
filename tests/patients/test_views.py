"""The sample app's JSON endpoints (patients/views.py) through the test
client: list, read (from the instance cache), create and update, with the
errors a client sees. Lab isolation is in test_isolation_patients.py."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import ActivityLog
from patients.models import Patient
from tests.core.middleware.fixtures import (  # noqa: F401
    on_redis_fixture,
    shared_redis_fixture,
)
from tests.isolation.helpers import send_json, signed_in

pytestmark = pytest.mark.django_db

LIST = "/api/patients/"


def detail(patient: Patient) -> str:
    return f"/api/patients/{patient.pk}/"


def make_patient(lab, first_name: str = "Asha", **fields) -> Patient:
    patient = Patient(lab=lab, first_name=first_name, sex="F", **fields)
    patient.save()
    return patient


def test_a_patient_is_created_and_logged(labs):
    client = signed_in(labs["north"])

    response = send_json(client, "POST", LIST, {
        "first_name": "Asha", "last_name": "Rao", "sex": "F",
        "date_of_birth": "1990-04-01", "phone": "+91 98765 43210",
    })  # fmt: skip

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["lab_id"], body["phone"], body["version"]) == (
        labs["north"].pk, "+919876543210", 1
    )  # fmt: skip
    entry = ActivityLog.objects.get(model_label="patients.patient", action="create")
    assert entry.actor_kind == "staff"
    assert entry.request_id == response["X-Request-ID"]


def test_invalid_input_is_a_400_with_every_field_error(labs):
    client = signed_in(labs["north"])

    response = send_json(client, "POST", LIST, {
        "first_name": "", "sex": "X", "date_of_birth": "2999-01-01", "shoe": 9,
    })  # fmt: skip

    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"shoe"}  # unknown fields first
    response = send_json(client, "POST", LIST, {"first_name": "", "sex": "X"})
    assert response.status_code == 400
    assert {"first_name", "sex"} <= set(response.json()["fields"])
    assert not Patient.objects.exists()


@pytest.mark.django_db(transaction=True)  # the cache fills after commit
def test_a_read_comes_from_the_instance_cache(labs, on_redis):
    # On Redis, as in production: the session, the user and the lab facts
    # that re-authorise the request are cached too.
    client = signed_in(labs["north"])
    patient = make_patient(labs["north"])
    client.get(detail(patient))  # fills the cache

    with CaptureQueriesContext(connection) as queries:
        response = client.get(detail(patient))

    assert response.status_code == 200
    assert response.json()["first_name"] == "Asha"
    patient_queries = [q for q in queries if "patients_patient" in q["sql"]]
    assert patient_queries == []
    # the age is in the lab's time zone, read from the cached lab
    assert [q for q in queries if '"account_lab"' in q["sql"]] == []


@pytest.mark.django_db(transaction=True)  # the lab's cached copy goes at commit
def test_a_changed_lab_time_zone_is_seen_by_its_patients_at_once(labs):
    patient = make_patient(labs["north"])
    assert Patient.objects.get(pk=patient.pk).cached_lab.time_zone == "UTC"

    lab = labs["north"]
    lab.refresh_from_db()
    lab.time_zone = "Europe/London"
    lab.save()

    assert str(Patient.objects.get(pk=patient.pk).cached_lab.zone) == "Europe/London"


def test_an_update_needs_the_version_read_and_refuses_a_stale_one(labs):
    client = signed_in(labs["north"])
    patient = make_patient(labs["north"])

    missing = send_json(client, "PATCH", detail(patient), {"last_name": "Rao"})
    done = send_json(
        client, "PATCH", detail(patient), {"version": 1, "last_name": "Rao"}
    )
    stale = send_json(
        client, "PATCH", detail(patient), {"version": 1, "last_name": "Roy"}
    )

    assert missing.status_code == 400 and "version" in missing.json()["fields"]
    assert done.status_code == 200 and done.json()["version"] == 2
    assert stale.status_code == 409
    patient.refresh_from_db()
    assert patient.last_name == "Rao"


def test_the_list_pages_by_id(labs):
    client = signed_in(labs["north"])
    patients = [make_patient(labs["north"], f"P{n}") for n in range(3)]
    make_patient(labs["north"], "Ravi", phone="+919876543210")

    first = client.get(LIST, {"limit": 2}).json()
    second = client.get(LIST, {"limit": 2, "after": first["next"]}).json()

    assert [p["first_name"] for p in first["patients"]] == ["Ravi", "P2"]
    assert [p["first_name"] for p in second["patients"]] == ["P1", "P0"]
    assert second["next"] is None
    assert client.get(LIST, {"limit": 0}).status_code == 400
    assert len(patients) == 3


def test_writes_without_the_csrf_token_are_refused(labs):
    client = signed_in(labs["north"])

    response = send_json(client, "POST", LIST, {"first_name": "A", "sex": "F"},
                         **{"X-Other": "1"})  # fmt: skip

    assert response.status_code == 403
    assert not Patient.objects.exists()


def test_a_body_that_is_not_a_json_object_is_a_400(labs):
    client = signed_in(labs["north"])

    response = send_json(client, "POST", LIST, [1, 2])

    assert response.status_code == 400
