"""core.tenancy.session: the one reader and writer of the session's lab."""

import pytest
from django.contrib.sessions.backends.db import SessionStore

from core.tenancy import LabKind
from core.tenancy.session import (
    SessionLab,
    parse_lab_id,
    read_session_lab,
    start_lab_session,
)


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
        ("١٢", None),  # Arabic-Indic digits: not an id
        (1.0, None),
        (True, None),
        (None, None),
        ([3], None),
    ],
)
def test_parse_lab_id(value, expected):
    assert parse_lab_id(value) == expected


def test_the_session_lab_is_labid_then_doclabid_with_its_epochs():
    session = SessionStore()
    assert read_session_lab(session) is None

    session["docLabId"] = "5"
    assert read_session_lab(session) == SessionLab(5, LabKind.DOCTOR, (0, 0, 0))
    session["labId"] = "not-a-lab"
    assert read_session_lab(session).lab_id == 5  # the unusable labId is skipped
    session["labId"] = 3
    session["labEpochs"] = [1, 2, 3]
    assert read_session_lab(session) == SessionLab(3, LabKind.STAFF, (1, 2, 3))


@pytest.mark.parametrize("epochs", [[1, 2], "1,2,3", [1, 2, True], {"a": 1}])
def test_unreadable_epochs_match_no_lab_so_the_session_ends(epochs):
    session = SessionStore()
    session["labId"] = 3
    session["labEpochs"] = epochs

    assert read_session_lab(session).epochs == (-1, -1, -1)


def test_start_lab_session_keeps_one_kind_only():
    session = SessionStore()
    start_lab_session(session, 3, LabKind.STAFF, (0, 0, 0))
    start_lab_session(session, 4, LabKind.DOCTOR, (1, 0, 2))

    assert dict(session.items()) == {"docLabId": 4, "labEpochs": [1, 0, 2]}
    with pytest.raises(ValueError, match="lab staff or a doctor"):
        start_lab_session(session, 4, LabKind.API_KEY, (0, 0, 0))
