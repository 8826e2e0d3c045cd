"""The patients admin with encrypted contact details: the list shows the
phone, search finds a patient by phone or email through the blind indexes."""

import pytest
from django.urls import reverse

from admin.account.models import User
from patients.models import Patient

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = User.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(user)
    return client


@pytest.fixture
def patients(labs) -> dict[str, Patient]:
    made = {}
    for name, lab, phone, email in [
        ("Asha", "north", "98765 43210", "asha@example.com"),
        ("Ben", "other", "020 7946 0018", "ben@example.com"),
        ("Chitra", "south", "", ""),
    ]:
        made[name] = Patient(
            lab=labs[lab], first_name=name, sex="F", phone=phone, email=email
        )
        made[name].save()
    return made


def names_found(admin_client, term: str) -> list[str]:
    response = admin_client.get(
        reverse("admin:patients_patient_changelist"), {"q": term}
    )
    assert response.status_code == 200
    return sorted(patient.first_name for patient in response.context["cl"].result_list)


def test_the_list_shows_the_decrypted_phone(admin_client, patients):
    response = admin_client.get(reverse("admin:patients_patient_changelist"))

    assert "+919876543210" in response.content.decode()
    assert "enc1:" not in response.content.decode()


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("+91 98765 43210", ["Asha"]),
        ("98765 43210", ["Asha"]),  # local in India, where North is
        ("020 7946 0018", ["Ben"]),  # local in Britain, where Other is
        ("ASHA@example.com", ["Asha"]),
        ("Chitra", ["Chitra"]),  # names still search as before
        ("12345", []),
    ],
)
def test_search_finds_by_phone_email_or_name(admin_client, patients, term, expected):
    assert names_found(admin_client, term) == expected


def test_search_keeps_the_list_filters(admin_client, patients, labs):
    response = admin_client.get(
        reverse("admin:patients_patient_changelist"),
        {"q": "+919876543210", "lab__id__exact": labs["south"].pk},
    )

    assert list(response.context["cl"].result_list) == []


def test_the_change_form_shows_and_saves_the_plaintext(admin_client, patients):
    patient = patients["Asha"]
    url = reverse("admin:patients_patient_change", args=[patient.pk])
    assert 'value="+919876543210"' in admin_client.get(url).content.decode()

    response = admin_client.post(
        url,
        {
            "lab": patient.lab_id,
            "first_name": "Asha",
            "last_name": "",
            "sex": "F",
            "date_of_birth": "",
            "phone": "91234 56789",
            "email": "asha@example.com",
            "loaded_version": patient.version,
        },
    )

    assert response.status_code == 302
    assert Patient.objects.get(pk=patient.pk).phone == "+919123456789"
