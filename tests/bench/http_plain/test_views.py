"""bench/http_plain/views.py: the plain baseline's reads answer what core's
endpoints answer, with one query and no middleware."""

import json
from datetime import date

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.test import RequestFactory
from pytest_django import DjangoAssertNumQueries

from admin.account.models import Lab
from bench.http_plain.views import liveness, patient
from patients.models import Patient
from patients.views import patient_json


@pytest.fixture
def asha(labs: dict[str, Lab]) -> Patient:
    row = Patient(
        lab=labs["north"],
        first_name="Asha",
        last_name="Rao",
        sex=Patient.Sex.FEMALE,
        date_of_birth=date(1988, 4, 12),
        phone="+91 98765 43210",
        email="asha.rao@example.com",
    )
    row.save()
    return row


def test_liveness_answers_ok_and_is_never_cached() -> None:
    response = liveness(RequestFactory().get("/live/"))

    assert response.status_code == 200
    assert response.content == b'{"status": "ok"}'
    assert "no-cache" in response["Cache-Control"]


def test_a_patient_is_the_same_json_as_cores_in_one_query(
    asha: Patient, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    request = RequestFactory().get(f"/labs/{asha.lab_id}/patients/{asha.pk}/")
    expected = json.dumps(
        patient_json(Patient.objects.get(pk=asha.pk)), cls=DjangoJSONEncoder
    )

    with django_assert_num_queries(1):  # the patient, joined to its lab
        response = patient(request, asha.lab_id, asha.pk)

    assert response.status_code == 200
    body = json.loads(response.content)
    assert body["phone"] == "+919876543210"
    assert body["age"]["years"] >= 38
    assert body == json.loads(expected)


def test_a_patient_of_another_lab_is_a_json_404(
    asha: Patient, labs: dict[str, Lab]
) -> None:
    other = labs["other"].pk
    request = RequestFactory().get(f"/labs/{other}/patients/{asha.pk}/")

    response = patient(request, other, asha.pk)

    assert response.status_code == 404
    assert response.content == (
        f'{{"error": "No patient {asha.pk} in lab {other}."}}'.encode()
    )
