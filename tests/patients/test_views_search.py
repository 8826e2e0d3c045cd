"""`POST /api/patients/search/` (patients/views.py): patients by phone and/or
email from a JSON body, paged like the list, and the list refusing phone
numbers and emails in its URL. Lab isolation is in test_isolation_patients.py."""

import pytest
from django.test import Client

from core.models.api_key import ApiKey
from patients.models import Patient
from tests.isolation.helpers import send_json, signed_in

pytestmark = pytest.mark.django_db

LIST = "/api/patients/"
SEARCH = "/api/patients/search/"
PHONE = "+919876543210"
EMAIL = "asha@example.com"


def make_patient(lab, first_name: str, **fields) -> Patient:
    patient = Patient(lab=lab, first_name=first_name, sex="F", **fields)
    patient.save()
    return patient


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [p["first_name"] for p in response.json()["patients"]]


@pytest.mark.parametrize("written", ["+91 98765 43210", "098765-43210", PHONE])
def test_a_patient_is_found_by_phone_however_it_is_written(labs, written):
    client = signed_in(labs["north"])
    make_patient(labs["north"], "Ravi", phone=PHONE)
    make_patient(labs["north"], "Other", phone="+919123456789")

    assert names(send_json(client, "POST", SEARCH, {"phone": written})) == ["Ravi"]


def test_by_email_by_both_and_by_what_nobody_has(labs):
    client = signed_in(labs["north"])
    make_patient(labs["north"], "Asha", phone=PHONE, email=EMAIL)
    make_patient(labs["north"], "Sister", phone=PHONE, email="sister@example.com")

    by_email = send_json(client, "POST", SEARCH, {"email": " ASHA@example.com"})
    by_phone = send_json(client, "POST", SEARCH, {"phone": PHONE})
    by_both = send_json(client, "POST", SEARCH, {"phone": PHONE, "email": EMAIL})
    nobody = send_json(client, "POST", SEARCH, {"phone": "12345"})

    assert names(by_email) == ["Asha"]
    assert sorted(names(by_phone)) == ["Asha", "Sister"]
    assert names(by_both) == ["Asha"]
    assert nobody.json() == {"patients": [], "next": None}


def test_the_search_pages_like_the_list(labs):
    client = signed_in(labs["north"])
    for number in range(3):
        make_patient(labs["north"], f"P{number}", phone=PHONE)

    first = send_json(client, "POST", SEARCH, {"phone": PHONE, "limit": 2})
    after = first.json()["next"]
    second = send_json(client, "POST", SEARCH, {"phone": PHONE, "limit": 2,
                                                "after": after})  # fmt: skip

    assert names(first) == ["P2", "P1"]
    assert names(second) == ["P0"] and second.json()["next"] is None


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({}, "__all__", "Send a phone or an email"),
        ({"phone": "  ", "email": None}, "__all__", "Send a phone or an email"),
        ({"phone": 919876543210}, "phone", "Send text (a JSON string"),
        ({"phone": PHONE, "name": "Asha"}, "name", "Not a search field"),
        ({"phone": PHONE, "limit": 0}, "limit", "between 1 and 200"),
        ({"phone": PHONE, "after": "x"}, "after", "Send a whole number"),
        ({"phone": PHONE, "after": 0}, "after", "between 1 or more"),
    ],
)
def test_a_search_that_cannot_be_run_is_a_400_saying_why(labs, body, field, says):
    client = signed_in(labs["north"])

    response = send_json(client, "POST", SEARCH, body)

    assert response.status_code == 400
    assert says in response.json()["fields"][field][0]
    assert "919876543210" not in response.content.decode()  # never echoed


def test_the_search_is_post_only_so_nothing_is_put_in_a_url(labs):
    client = signed_in(labs["north"])

    assert client.get(SEARCH, {"phone": PHONE}).status_code == 405


@pytest.mark.parametrize("name", ["phone", "email"])
def test_the_list_refuses_contact_details_in_its_url_and_points_to_the_search(
    labs, name
):
    client = signed_in(labs["north"])
    make_patient(labs["north"], "Ravi", phone=PHONE, email=EMAIL)

    response = client.get(LIST, {name: PHONE if name == "phone" else EMAIL})

    assert response.status_code == 400
    [message] = response.json()["fields"][name]
    assert f"POST {SEARCH}" in message and "access logs" in message
    assert "98765" not in response.content.decode()
    assert "asha@" not in response.content.decode()


def test_a_session_search_needs_the_csrf_token(labs):
    client = signed_in(labs["north"])
    make_patient(labs["north"], "Ravi", phone=PHONE)

    response = send_json(client, "POST", SEARCH, {"phone": PHONE}, **{"X-Other": "1"})

    assert response.status_code == 403


def test_an_api_key_searches_without_a_csrf_token(labs):
    _, secret = ApiKey.create(labs["north"], "LIMS bridge")
    make_patient(labs["north"], "Ravi", phone=PHONE)

    response = Client().post(SEARCH, {"phone": PHONE}, content_type="application/json",
                             headers={"Authorization": f"Bearer {secret}"})  # fmt: skip

    assert names(response) == ["Ravi"]
