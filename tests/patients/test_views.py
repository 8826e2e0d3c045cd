"""The sample app's JSON endpoints (patients/views.py) through the test
client: list, read (from the instance cache), create and update, with the
errors a client sees. Lab isolation is in test_isolation_patients.py."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import ActivityLog
from patients.models import Patient
from tests.isolation.helpers import csrf_headers, send_json, signed_in

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
    # One answer names every problem: an unknown field does not hide the
    # others, nor do conversion errors hide the model's own checks.
    assert set(response.json()["fields"]) == {
        "shoe", "first_name", "sex", "date_of_birth",
    }  # fmt: skip
    response = send_json(client, "POST", LIST, {
        "first_name": "  ", "sex": "X", "phone": "12", "date_of_birth": "2999-01-01",
    })  # fmt: skip
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {
        "first_name", "sex", "phone", "date_of_birth",
    }  # fmt: skip
    assert not Patient.objects.exists()


#: What the security review sent (each was a 500, or stored as given), as
#: the raw JSON text of first_name, and the field the 400 names.
REVIEW_FINDINGS = {
    "Infinity": "first_name",
    "NaN": "first_name",
    "1e400": "first_name",
    "9" * 4301: "first_name",
    "[" * 100_000 + "]" * 100_000: None,  # the stack, not a field, gives out
    '"Asha\\u0000"': "first_name",
    '"\\ud800"': "first_name",
    '{"x": 1}': "first_name",  # was stored as the text "{'x': 1}"
}


@pytest.mark.parametrize(("value", "field"), REVIEW_FINDINGS.items())
def test_the_reviews_malformed_values_are_400s_naming_the_field(labs, value, field):
    client = signed_in(labs["north"])
    body = f'{{"first_name": {value}, "sex": "F"}}'.encode()

    response = client.post(
        LIST, body, content_type="application/json", headers=csrf_headers(client)
    )

    assert response.status_code == 400
    assert list(response.json().get("fields", {})) == ([field] if field else [])
    assert not Patient.objects.exists()


@pytest.mark.parametrize("value", [19900101, ["1990-04-01"], "01/04/1990"])
def test_a_date_of_birth_that_is_not_iso_text_is_a_400(labs, value):
    client = signed_in(labs["north"])

    response = send_json(client, "POST", LIST, {
        "first_name": "Asha", "sex": "F", "date_of_birth": value,
    })  # fmt: skip

    assert response.status_code == 400
    [message] = response.json()["fields"]["date_of_birth"]
    assert message.startswith("Send a date as text in the form YYYY-MM-DD, such as")


@pytest.mark.parametrize("version", [True, "1 ", "1", 1.0, None])
def test_a_version_that_is_not_a_json_integer_changes_nothing(labs, version):
    client = signed_in(labs["north"])
    patient = make_patient(labs["north"])

    response = send_json(client, "PATCH", detail(patient), {
        "version": version, "first_name": "Changed",
    })  # fmt: skip

    assert response.status_code == 400
    [message] = response.json()["fields"]["version"]
    assert message.startswith("Send a whole number (a JSON integer, not quoted)")
    patient.refresh_from_db()
    assert (patient.first_name, patient.version) == ("Asha", 1)


@pytest.mark.parametrize("lab_id", ["3", 1e400, 2.5, True])
def test_a_lab_id_that_is_not_a_json_integer_is_a_400(labs, lab_id):
    client = signed_in(labs["north"])
    body = json.dumps({"first_name": "Asha", "sex": "F", "lab_id": lab_id})

    response = client.post(
        LIST, body.replace("Infinity", "1e400"), content_type="application/json",
        headers=csrf_headers(client),
    )  # fmt: skip

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["lab_id"]


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
