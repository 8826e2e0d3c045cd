"""Lab isolation of core's own endpoints, tested as an attacker would:
signing in, the health checks, the Pusher channel auth and signed file
links reveal or reach nothing of another lab."""

import json
import urllib.parse

import pytest
from django.test import Client

from core.utils.clients import get_client
from tests.core.middleware.fixtures import LOGIN_URL, PASSWORD, make_user
from tests.isolation.helpers import csrf_headers, signed_in

COVERS = {
    "core:auth-csrf",
    "core:auth-login",
    "core:auth-logout",
    "core:health",
    "core:health-live",
    "core:health-ready",
    "core:health-metrics",
    "core:pusher-auth",
    "core:signed-file",
    "home",
}

pytestmark = pytest.mark.django_db


def login(client: Client, username: str, lab_id: int) -> int:
    client.get("/core/auth/csrf/")
    response = client.post(
        LOGIN_URL,
        json.dumps({"username": username, "password": PASSWORD, "lab_id": lab_id}),
        content_type="application/json",
        headers=csrf_headers(client),
    )
    return response.status_code


@pytest.mark.parametrize("target", ["central", "south", "other"])
def test_nobody_signs_in_to_a_lab_outside_their_scope(labs, target):
    make_user("north-staff", labs["north"])
    make_user("north-doctor", labs["north"], kind="doctor")

    staff = login(Client(enforce_csrf_checks=True), "north-staff", labs[target].pk)
    doctor = login(Client(enforce_csrf_checks=True), "north-doctor", labs[target].pk)

    assert staff in (403, 404) and doctor in (403, 404)


def test_a_doctor_does_not_sign_in_to_a_child_lab(labs):
    make_user("north-doctor", labs["north"], kind="doctor")

    status = login(
        Client(enforce_csrf_checks=True), "north-doctor", labs["north_clinic"].pk
    )

    assert status in (403, 404)


def test_signing_out_ends_only_the_callers_session(labs):
    north = signed_in(labs["north"])
    south = signed_in(labs["south"])

    response = north.post("/core/auth/logout/", headers=csrf_headers(north))

    assert response.status_code == 200
    assert north.get("/api/patients/").status_code == 401
    assert south.get("/api/patients/").status_code == 200


def test_the_csrf_token_and_liveness_carry_no_lab_data(labs):
    client = signed_in(labs["north"])

    assert set(client.get("/core/auth/csrf/").json()) == {"csrfToken"}
    assert client.get("/core/view/live/").json() == {"status": "ok"}


@pytest.mark.parametrize(
    "path", ["/core/view/", "/core/view/ready/", "/core/view/metrics/"]
)
def test_readiness_and_metrics_are_not_opened_by_a_lab_session(labs, path):
    client = signed_in(labs["north"])

    response = client.get(path, REMOTE_ADDR="203.0.113.9")

    assert response.status_code == 403
    assert "checks" not in response.json()
    assert b"lis_" not in response.content


@pytest.mark.parametrize("other", ["central", "south", "north_clinic", "other"])
def test_a_lab_cannot_subscribe_to_another_labs_channel(labs, other):
    client = signed_in(labs["north"])

    response = client.post(
        "/core/pusher/auth/",
        {"socket_id": "123.456", "channel_name": f"private-lab-{labs[other].pk}"},
        headers=csrf_headers(client),
    )

    assert response.status_code == 403
    assert "auth" not in response.json()


def test_a_signed_file_link_opens_only_its_own_file(labs, settings, tmp_path):
    settings.SERVICES = {
        **settings.SERVICES,
        "s3": {
            "BACKEND": "core.utils.aws.client.LocalFileS3Client",
            "OPTIONS": {"base_dir": str(tmp_path)},
        },
    }
    storage = get_client("s3")
    storage.upload(f"labs/{labs['north'].pk}/a.pdf", b"%PDF north")
    storage.upload(f"labs/{labs['south'].pk}/b.pdf", b"%PDF south")
    link = urllib.parse.urlsplit(
        storage.presigned_url(f"labs/{labs['north'].pk}/a.pdf", 60)
    )
    retargeted = link.path.replace(
        f"labs/{labs['north'].pk}/a.pdf", f"labs/{labs['south'].pk}/b.pdf"
    )

    own = Client().get(f"{link.path}?{link.query}")
    other = Client().get(f"{retargeted}?{link.query}")

    assert own.status_code == 200 and b"".join(own.streaming_content) == b"%PDF north"
    assert other.status_code == 403


def test_the_home_address_leads_to_the_admin_and_reveals_nothing(labs):
    client = signed_in(labs["north"])

    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert response.content == b""
