"""GenericView (core/view.py): the request's lab from the session, and the
labs below it."""

import pytest
from django.contrib.sessions.backends.db import SessionStore

from admin.account.models import Lab
from core.view import GenericView


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("values", "lab_id"),
    [
        ({"labId": 3}, 3),
        ({"docLabId": 5}, 5),
        ({"labId": 3, "docLabId": 5}, 3),
        ({}, None),
    ],
)
def test_the_lab_comes_from_labid_else_doclabid(
    values: dict[str, int], lab_id: int | None
) -> None:
    session = SessionStore()
    session.update(values)

    assert GenericView().get_lab_id_from_session(session) == lab_id


@pytest.mark.django_db
def test_child_lab_ids_are_every_lab_below(labs: dict[str, Lab]) -> None:
    view = GenericView()

    assert view.get_child_lab_ids(labs["central"].pk) == sorted(
        [labs["north"].pk, labs["south"].pk, labs["north_clinic"].pk]
    )
    assert view.get_child_lab_ids(labs["north_clinic"].pk) == []
