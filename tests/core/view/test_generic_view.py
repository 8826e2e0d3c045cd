"""GenericView (core/view.py): the seed's helpers for the request's lab from
a session, and the labs below it, agree with what every request enforces."""

from typing import Any

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client

from admin.account.models import Lab, LabRelation
from core.view import GenericView
from tests.core.middleware.fixtures import make_user, sign_in


@pytest.mark.django_db
@pytest.mark.parametrize(
    "values",
    [
        {"labId": 3},
        {"docLabId": 5},
        {"labId": "x"},
        {"labId": 0},
        {"labId": True},
        {"docLabId": "x"},
        {},
    ],
)
def test_a_session_without_a_signed_in_user_has_no_lab(values: dict[str, Any]) -> None:
    # The seed's helper delegates to the rule every request is held to: a
    # raw session value ("x", 0, True, or a planted id) is never a lab.
    session = SessionStore()
    session.update(values)

    assert GenericView().get_lab_id_from_session(session) is None


@pytest.mark.django_db
def test_a_signed_in_session_gives_its_authorised_lab(labs: dict[str, Lab]) -> None:
    make_user("asha", labs["central"])
    client = Client()
    sign_in(client, "asha", lab_id=labs["north"].pk)
    session = SessionStore(client.session.session_key)

    assert GenericView().get_lab_id_from_session(session) == labs["north"].pk

    # and none once the user's lab no longer reaches North
    LabRelation.objects.filter(child_lab=labs["north"]).delete_each()
    assert GenericView().get_lab_id_from_session(session) is None


@pytest.mark.django_db
def test_child_lab_ids_are_every_lab_below(labs: dict[str, Lab]) -> None:
    view = GenericView()

    assert view.get_child_lab_ids(labs["central"].pk) == sorted(
        [labs["north"].pk, labs["south"].pk, labs["north_clinic"].pk]
    )
    assert view.get_child_lab_ids(labs["north_clinic"].pk) == []
