"""A session's lab is authorised on every request, not only at sign-in
(core.tenancy.access through LabContextMiddleware).

The class of defect: anything decided at sign-in that an administrator can
change later. Each test signs in, changes one fact (the lab deactivated,
the user deactivated or moved to another lab or kind, a parent -> child
link removed), and shows the very next request no longer acts for the lab,
through the real sample API (a write and a read) and the lab context view.
Sessions ended by a deactivation do not come back on reactivation.

Run on the embedded default (no Redis: facts from the database), a real
redis-server and a real Redis Cluster (facts cached, invalidated after
commit: `transaction=True` so commits happen as in production).
"""

import json

import pytest
from django.test import Client

from admin.account.models import LabRelation, User
from core.models import ActivityLog
from patients.models import Patient
from tests.core.middleware.fixtures import make_user, sign_in
from tests.isolation.helpers import csrf_headers

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("api_urls"),
]

LAB = "/api/test/lab/"
PATIENTS = "/api/patients/"


@pytest.fixture(params=["embedded", "on_redis", "on_cluster"])
def backend(request) -> str:
    """Where sessions and the lab facts live."""
    if request.param != "embedded":
        request.getfixturevalue(request.param)
    return request.param


def signed_in_client(username: str, **body) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.get("/core/auth/csrf/")
    answer = client.post(
        "/core/auth/login/",
        json.dumps({"username": username, "password": "correct horse 42", **body}),
        content_type="application/json",
        headers=csrf_headers(client),
    )
    assert answer.status_code == 200, answer.content
    return client


def create_patient(client: Client, **body):
    return client.post(
        PATIENTS,
        json.dumps({"first_name": "Asha", "sex": "F", **body}),
        content_type="application/json",
        headers=csrf_headers(client),
    )


def ended_sessions(user: User) -> list[ActivityLog]:
    return list(
        ActivityLog.objects.filter(
            action="session_ended", instance_id=str(user.pk)
        ).order_by("pk")
    )


def test_a_deactivated_lab_ends_its_sessions_for_good(backend, labs):
    # Given staff of North signed in to North
    make_user("nina", labs["north"])
    client = signed_in_client("nina")
    assert create_patient(client).status_code == 201

    # When North is deactivated
    north = labs["north"]
    north.refresh_from_db()
    north.is_active = False
    north.save(reason="contract ended")

    # Then the old session creates nothing and is signed out
    assert create_patient(client).status_code == 401
    assert client.get(LAB).json()["lab_id"] is None
    assert Patient.objects.filter(lab=north).count() == 1
    [entry] = ended_sessions(User.objects.get(username="nina"))
    assert entry.message == f"Session ended: lab {north.pk} was deactivated"

    # And reactivating the lab does not bring the session back
    north.refresh_from_db()
    north.is_active = True
    north.save(reason="renewed")
    assert client.get(LAB).json()["lab_id"] is None
    assert create_patient(client).status_code == 401


def test_a_user_moved_to_another_lab_no_longer_reads_the_old_one(backend, labs):
    # Given staff of South signed in, who can read a South patient
    user = make_user("sam", labs["south"])
    client = signed_in_client("sam")
    patient = Patient(lab=labs["south"], first_name="Ravi", sex="M")
    patient.save()
    assert client.get(f"{PATIENTS}{patient.pk}/").status_code == 200

    # When the user is moved to Other Network
    user.refresh_from_db()
    user.lab = labs["other"]
    user.save()

    # Then the old session reads nothing of South, and has ended
    assert client.get(f"{PATIENTS}{patient.pk}/").status_code == 401
    assert client.get(LAB).json()["lab_id"] is None
    assert "_auth_user_id" not in client.session
    [entry] = ended_sessions(user)
    assert "moved to another lab" in entry.message


def test_a_removed_link_takes_the_child_lab_away_at_the_next_request(backend, labs):
    # Given staff of Central signed in to its child North, editing its patient
    make_user("asha", labs["central"])
    client = signed_in_client("asha", lab_id=labs["north"].pk)
    patient = Patient(lab=labs["north"], first_name="Ravi", sex="M")
    patient.save()
    edit = {"version": patient.version, "last_name": "Kumar"}

    # When the Central -> North link is removed
    link = LabRelation.objects.get(parent_lab=labs["central"], child_lab=labs["north"])
    link.delete()

    # Then the session has no lab: the edit is refused and nothing changed
    answer = client.patch(
        f"{PATIENTS}{patient.pk}/",
        json.dumps(edit),
        content_type="application/json",
        headers=csrf_headers(client),
    )
    assert answer.status_code == 401
    patient.refresh_from_db()
    assert patient.last_name == ""
    # And Central's own reads no longer include North either
    central = signed_in_client("asha")
    assert labs["north"].pk not in central.get(LAB).json()["child_lab_ids"]


def test_a_deactivated_user_stays_signed_out_after_reactivation(backend, labs):
    # Given a doctor signed in to North
    user = make_user("dr.sen", labs["north"], kind="doctor")
    client = signed_in_client("dr.sen")

    # When the account is deactivated, then reactivated
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert client.get(LAB).json()["lab_id"] is None
    user.refresh_from_db()
    user.is_active = True
    user.save()

    # Then the old session stays signed out, and says why
    assert client.get(LAB).json()["lab_id"] is None
    assert "_auth_user_id" not in client.session
    assert len(ended_sessions(user)) == 1
    # While a fresh sign-in works
    assert signed_in_client("dr.sen").get(LAB).json()["lab_id"] == labs["north"].pk


def test_a_doctor_made_staff_signs_in_again(backend, labs):
    user = make_user("dr.sen", labs["north"], kind="doctor")
    client = signed_in_client("dr.sen")

    User.objects.filter(pk=user.pk).update(kind="staff")

    assert client.get(LAB).json()["lab_id"] is None
    assert signed_in_client("dr.sen").get(LAB).json()["lab_kind"] == "staff"


def test_an_unchanged_session_keeps_its_lab_and_children(backend, labs, staff):
    client = Client()
    sign_in(client, "asha")

    for _ in range(2):  # the second request is served from what the first cached
        assert client.get(LAB).json() == {
            "lab_id": labs["central"].pk,
            "lab_kind": "staff",
            "child_lab_ids": sorted(
                labs[name].pk for name in ("north", "south", "north_clinic")
            ),
        }
