"""request.lab_id / lab_kind / child_lab_ids from the session or the API key,
the children read only when asked for, and the session helpers."""

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.middleware.lab_context import (
    DOCTOR_LAB_SESSION_KEY,
    LAB_SESSION_KEY,
    LabKind,
    SessionLab,
    lab_id_from_session,
    parse_lab_id,
    session_lab,
    start_lab_session,
)
from tests.core.middleware.fixtures import sign_in

pytestmark = pytest.mark.django_db


def test_a_staff_session_sees_its_lab_and_every_descendant(client, staff, labs):
    sign_in(client, "asha")

    response = client.get("/api/test/lab/")

    assert response.json() == {
        "lab_id": labs["central"].pk,
        "lab_kind": "staff",
        "child_lab_ids": sorted(
            labs[name].pk for name in ("north", "south", "north_clinic")
        ),
    }


def test_a_doctor_session_is_of_kind_doctor_and_sees_no_child_lab(client, doctor, labs):
    sign_in(client, "dr.sen")

    response = client.get("/api/test/lab/")

    # North has North Clinic below it, but a doctor sees their own lab only.
    assert response.json() == {
        "lab_id": labs["north"].pk,
        "lab_kind": "doctor",
        "child_lab_ids": [],
    }


def test_nobody_signed_in_has_no_lab(client, db):
    response = client.get("/api/test/lab/")

    assert response.json() == {"lab_id": None, "lab_kind": None, "child_lab_ids": []}


def test_a_session_lab_counts_only_while_its_user_can_sign_in(client, staff, labs):
    # Given a signed-in user whose account is then deactivated
    sign_in(client, "asha")
    staff.is_active = False
    staff.save()

    # Then the labId left in their session gives no lab
    response = client.get("/api/test/lab/")

    assert LAB_SESSION_KEY in client.session
    assert response.json()["lab_id"] is None


def test_child_labs_are_read_only_when_asked_for(client, staff):
    sign_in(client, "asha")

    with CaptureQueriesContext(connection) as without_children:
        client.get("/api/test/lab-only/")
    with CaptureQueriesContext(connection) as with_children:
        client.get("/api/test/lab/")

    assert len(with_children) - len(without_children) == 1
    assert "WITH RECURSIVE" in with_children.captured_queries[-1]["sql"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (12, 12),
        ("12", 12),
        (" 7 ", 7),
        ("0", None),
        (0, None),
        (-4, None),
        ("x", None),
        ("1.5", None),
        (1.0, None),
        (True, None),
        (None, None),
        ([3], None),
    ],
)
def test_parse_lab_id(value, expected):
    assert parse_lab_id(value) == expected


def test_session_lab_reads_labid_then_doclabid():
    session = SessionStore()
    assert session_lab(session) is None

    session[DOCTOR_LAB_SESSION_KEY] = "5"
    assert session_lab(session) == SessionLab(5, LabKind.DOCTOR)
    session[LAB_SESSION_KEY] = "not-a-lab"
    assert lab_id_from_session(session) == 5  # the unusable labId is skipped
    session[LAB_SESSION_KEY] = 3
    assert session_lab(session) == SessionLab(3, LabKind.STAFF)


def test_start_lab_session_keeps_one_kind_only():
    session = SessionStore()
    start_lab_session(session, 3, LabKind.STAFF)
    start_lab_session(session, 4, LabKind.DOCTOR)

    assert dict(session.items()) == {DOCTOR_LAB_SESSION_KEY: 4}
    with pytest.raises(ValueError, match="lab staff or a doctor"):
        start_lab_session(session, 4, LabKind.API_KEY)
