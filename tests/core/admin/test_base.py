"""The admin on BaseModel: validate() errors on the form, stale edits refused,
bulk delete through each row's delete()."""

import pytest
from django.urls import reverse

from admin.account.models import User
from patients.models import Patient

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, db):
    user = User.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(user)
    return client


def patient_form(patient: Patient, **changes) -> dict:
    data = {
        "lab": patient.lab_id,
        "first_name": patient.first_name,
        "last_name": patient.last_name,
        "sex": patient.sex,
        "date_of_birth": "",
        "phone": patient.phone,
        "email": patient.email,
        "loaded_version": patient.version,
    }
    data.update(changes)
    return data


@pytest.fixture
def patient(labs) -> Patient:
    patient = Patient(lab=labs["north"], first_name="Asha", sex="F")
    patient.save()
    return patient


def change_url(patient: Patient) -> str:
    return reverse("admin:patients_patient_change", args=[patient.pk])


def test_the_admin_lists_and_edits_patients(admin_client, patient):
    listing = admin_client.get(reverse("admin:patients_patient_changelist"))
    assert listing.status_code == 200
    assert b"Asha" in listing.content

    response = admin_client.post(
        change_url(patient), patient_form(patient, first_name="Asha Devi")
    )

    assert response.status_code == 302
    patient.refresh_from_db()
    assert (patient.first_name, patient.version) == ("Asha Devi", 2)


def test_model_validation_errors_show_on_the_form(admin_client, patient):
    response = admin_client.post(
        change_url(patient), patient_form(patient, phone="123")
    )

    assert response.status_code == 200
    assert "with its country code" in response.content.decode()
    patient.refresh_from_db()
    assert patient.version == 1


def test_saving_a_page_someone_else_changed_meanwhile_is_refused(admin_client, patient):
    opened = patient_form(patient, first_name="From the stale page")
    patient.last_name = "Changed elsewhere"
    patient.save()

    response = admin_client.post(change_url(patient), opened)

    assert response.status_code == 200
    assert "Someone else changed this record" in response.content.decode()
    patient.refresh_from_db()
    assert (patient.first_name, patient.last_name) == ("Asha", "Changed elsewhere")


def test_the_delete_selected_action_deletes_each_row_through_delete(admin_client, labs):
    for name in ("A", "B"):
        Patient(lab=labs["north"], first_name=name, sex="F").save()

    response = admin_client.post(
        reverse("admin:patients_patient_changelist"),
        {
            "action": "delete_selected",
            "_selected_action": list(Patient.objects.values_list("pk", flat=True)),
            "post": "yes",
        },
    )

    assert response.status_code == 302
    assert not Patient.objects.exists()
