"""The lab hierarchy: descendants at any depth in one query, cycles refused."""

import threading
import time

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from admin.account.models import LabRelation
from admin.account.proxies.lab_relation import LabRelations
from tests.conftest import make_lab, requires_postgresql

pytestmark = pytest.mark.django_db


def test_get_child_labs_returns_every_descendant_at_any_depth(labs):
    expected = sorted([labs["north"].pk, labs["south"].pk, labs["north_clinic"].pk])

    assert LabRelations.get_child_labs(labs["central"].pk) == expected
    assert LabRelations.get_child_labs(labs["north"].pk) == [labs["north_clinic"].pk]


def test_a_child_never_reaches_its_parent_or_a_sibling(labs):
    assert LabRelations.get_child_labs(labs["south"].pk) == []
    assert LabRelations.get_child_labs(labs["north_clinic"].pk) == []
    assert labs["central"].pk not in LabRelations.get_child_labs(labs["north"].pk)
    assert labs["south"].pk not in LabRelations.get_child_labs(labs["north"].pk)


def test_get_parent_labs_returns_every_ancestor(labs):
    assert LabRelations.get_parent_labs(labs["north_clinic"].pk) == sorted(
        [labs["central"].pk, labs["north"].pk]
    )


def test_get_child_labs_is_one_query_however_deep(labs, django_assert_num_queries):
    parent = labs["north_clinic"]
    for depth in range(6):
        parent = make_lab(f"Level {depth}", parent=parent)

    with django_assert_num_queries(1):
        descendants = LabRelations.get_child_labs(labs["central"].pk)

    assert len(descendants) == 3 + 6


def test_a_lab_with_two_parents_is_a_descendant_of_both(labs):
    LabRelation(parent_lab=labs["south"], child_lab=labs["north_clinic"]).save()

    assert labs["north_clinic"].pk in LabRelations.get_child_labs(labs["south"].pk)
    assert (
        LabRelations.get_child_labs(labs["central"].pk).count(labs["north_clinic"].pk)
        == 1
    )


@pytest.mark.parametrize(
    ("parent", "child"),
    [
        ("north", "central"),  # direct cycle
        ("north_clinic", "central"),  # cycle through a grandchild
        ("north", "north"),  # a lab under itself
    ],
)
def test_a_link_that_would_create_a_cycle_is_refused(labs, parent, child):
    relation = LabRelation(parent_lab=labs[parent], child_lab=labs[child])

    with pytest.raises(ValidationError) as excinfo:
        relation.save()

    [message] = excinfo.value.message_dict["child_lab"]
    assert "cycle" in message or "cannot be its own parent" in message
    assert LabRelations.get_child_labs(labs["north_clinic"].pk) == []


def test_the_walk_terminates_even_on_a_cycle_written_around_the_model(labs):
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {LabRelation._meta.db_table} "  # noqa: S608
            "(parent_lab_id, child_lab_id, created_at, updated_at, version) "
            "VALUES (%s, %s, %s, %s, 1)",
            [
                labs["north_clinic"].pk,
                labs["central"].pk,
                labs["central"].created_at,
                labs["central"].created_at,
            ],
        )

    assert labs["central"].pk not in LabRelations.get_child_labs(labs["central"].pk)
    assert len(LabRelations.get_child_labs(labs["central"].pk)) == 3


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_links_cannot_form_a_cycle_together():
    a = make_lab("A")
    b = make_lab("B")
    first_saved = threading.Event()
    release_first = threading.Event()
    errors: list[BaseException] = []

    def link_a_to_b() -> None:
        try:
            with transaction.atomic():
                LabRelation(parent_lab=a, child_lab=b).save()
                first_saved.set()
                release_first.wait(timeout=10)
        finally:
            connection.close()

    def link_b_to_a() -> None:
        try:
            LabRelation(parent_lab=b, child_lab=a).save()
        except ValidationError as exc:
            errors.append(exc)
        finally:
            connection.close()

    first = threading.Thread(target=link_a_to_b)
    first.start()
    assert first_saved.wait(timeout=10)
    second = threading.Thread(target=link_b_to_a)
    second.start()
    _wait_for_a_blocked_advisory_lock()
    release_first.set()
    first.join(timeout=10)
    second.join(timeout=10)

    assert len(errors) == 1 and "cycle" in str(errors[0])
    assert LabRelation.objects.count() == 1


def _wait_for_a_blocked_advisory_lock() -> None:
    """Return once some session waits on an advisory lock (the second link)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks "
                "WHERE locktype = 'advisory' AND NOT granted"
            )
            if cursor.fetchone()[0]:
                return
        time.sleep(0.01)
    raise AssertionError("the second link never waited for the hierarchy lock")
