"""A change made through a request is attributed to the signed-in user, the
request id and the client; proxy headers count only when trusted."""

import pytest
from django.urls import reverse

from admin.account.models import User
from core.models import ActivityLog
from patients.models import Patient

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, labs):
    user = User.objects.create_superuser("inspector", "i@example.com", "pw")
    user.first_name, user.last_name = "Ira", "Sen"
    user.save()
    client.force_login(user)
    return user


def edit_through_the_admin(
    client, patient: Patient, first_name: str = "Changed", **headers
) -> None:
    response = client.post(
        reverse("admin:patients_patient_change", args=[patient.pk]),
        {
            "lab": patient.lab_id,
            "first_name": first_name,
            "last_name": "",
            "sex": "F",
            "date_of_birth": "",
            "phone": "",
            "email": "",
            "loaded_version": patient.version,
        },
        headers=headers,
    )
    assert response.status_code == 302
    assert len(response["X-Request-ID"]) == 32


def test_an_admin_edit_is_attributed_to_the_user_and_the_request(
    client, signed_in, labs
):
    patient = Patient(lab=labs["north"], first_name="A", sex="F")
    patient.save()

    edit_through_the_admin(client, patient, user_agent="Firefox/140")

    entry = ActivityLog.objects.filter(action="update").get()
    assert (entry.actor_id, entry.actor_name, entry.actor_kind) == (
        str(signed_in.pk), "Ira Sen", "staff",
    )  # fmt: skip
    assert entry.client_ip == "127.0.0.1"
    assert entry.user_agent == "Firefox/140"
    assert len(entry.request_id) == 32


def test_proxy_headers_are_ignored_unless_trusted(client, signed_in, labs, settings):
    patient = Patient(lab=labs["north"], first_name="A", sex="F")
    patient.save()
    edit_through_the_admin(
        client, patient, x_forwarded_for="203.0.113.9", x_request_id="r-1"
    )
    untrusted = ActivityLog.objects.filter(action="update").last()

    settings.TRUSTED_PROXY_IP_HEADER = "HTTP_X_FORWARDED_FOR"
    settings.REQUEST_ID_HEADER = "HTTP_X_REQUEST_ID"
    patient.refresh_from_db()
    edit_through_the_admin(
        client, patient, "Changed again", x_forwarded_for="203.0.113.9, 10.0.0.1"
    )
    trusted = ActivityLog.objects.filter(action="update").last()

    assert (untrusted.client_ip, untrusted.request_id != "r-1") == ("127.0.0.1", True)
    assert trusted.client_ip == "203.0.113.9"
