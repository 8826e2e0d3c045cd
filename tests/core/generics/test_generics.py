"""core.generics: list, create, read and update as declarations, scoped to
the request's labs, with every problem of a body in one answer. A domain
app's views are these few lines (views.py here); what they must still do
is what the hand-written ones did: isolation, paging, field errors,
version conflicts."""

import datetime as dt

import pytest

from core.models import ActivityLog
from tests.isolation.helpers import send_json, signed_in
from tests.lifecycle.models import Tube

pytestmark = pytest.mark.django_db

LIST = "/api/tubes/"


@pytest.fixture(autouse=True)
def tube_urls(settings) -> None:
    settings.ROOT_URLCONF = "tests.core.generics.views"


def tube(lab, barcode: str) -> Tube:
    made = Tube(lab=lab, barcode=barcode)
    made.save()
    return made


def test_create_makes_the_row_in_the_request_lab_with_its_reason(labs):
    client = signed_in(labs["central"])

    created = send_json(client, "POST", LIST, {"barcode": "B-1", "reason": "Drawn"})

    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["barcode"], body["lab_id"], body["version"]) == (
        "B-1", labs["central"].pk, 1,
    )  # fmt: skip
    entry = ActivityLog.objects.get(model_label="lifecycle_tests.tube")
    assert entry.reason == "Drawn"


def test_create_in_a_child_lab_and_not_in_another_labs(labs):
    client = signed_in(labs["central"])

    child = send_json(
        client, "POST", LIST, {"barcode": "B", "lab_id": labs["north"].pk}
    )
    other = send_json(
        client, "POST", LIST, {"barcode": "B", "lab_id": labs["other"].pk}
    )

    assert child.status_code == 201 and child.json()["lab_id"] == labs["north"].pk
    assert other.status_code == 404
    assert not Tube.objects.filter(lab=labs["other"]).exists()


def test_every_problem_of_a_body_is_in_one_400(labs):
    client = signed_in(labs["north"])

    answer = send_json(client, "POST", LIST, {
        "barcode": "   ", "collected_at": 5, "colour": "red",
    })  # fmt: skip

    assert answer.status_code == 400
    assert set(answer.json()["fields"]) == {"barcode", "collected_at", "colour"}
    assert not Tube.objects.exists()


def test_a_duplicate_is_a_409_naming_the_field_and_another_labs_is_not_one(labs):
    tube(labs["north"], "B-1")
    tube(labs["other"], "B-2")
    client = signed_in(labs["north"])

    duplicate = send_json(client, "POST", LIST, {"barcode": "B-1"})
    elsewhere = send_json(client, "POST", LIST, {"barcode": "B-2"})

    assert duplicate.status_code == 409
    assert duplicate.json()["fields"] == {
        "barcode": ["A tube with this barcode already exists in this lab."]
    }
    assert elsewhere.status_code == 201


def test_a_time_must_carry_its_utc_offset_in_json(labs):
    """JSON clients send instants (the model layer reads a wall-clock time
    on the lab's clock, for Python callers; the API asks for the offset)."""
    client = signed_in(labs["central"])

    naive = send_json(client, "POST", LIST, {
        "barcode": "B", "collected_at": "2026-12-01T09:30:00",
    })  # fmt: skip
    created = send_json(client, "POST", LIST, {
        "barcode": "B", "collected_at": "2026-12-01T09:30:00+05:30",
    })  # fmt: skip

    assert naive.status_code == 400
    assert "UTC offset" in naive.json()["fields"]["collected_at"][0]
    assert created.status_code == 201, created.content
    stored = Tube.objects.get().collected_at
    assert stored == dt.datetime(2026, 12, 1, 4, 0, tzinfo=dt.UTC)


def test_the_list_pages_filters_and_shows_only_the_request_labs_rows(labs):
    for n in range(5):
        tube(labs["north"], f"N-{n}")
    tube(labs["other"], "O-1")
    client = signed_in(labs["north"])

    first = client.get(LIST, {"limit": 2}).json()
    second = client.get(LIST, {"limit": 2, "after": first["next"]}).json()
    found = client.get(LIST, {"barcode": "N-3"}).json()
    unknown = client.get(LIST, {"colour": "red"})

    assert [t["barcode"] for t in first["results"]] == ["N-4", "N-3"]
    assert [t["barcode"] for t in second["results"]] == ["N-2", "N-1"]
    assert [t["barcode"] for t in found["results"]] == ["N-3"]
    assert client.get(LIST, {"barcode": "O-1"}).json()["results"] == []
    assert unknown.status_code == 400
    assert "use barcode, limit, after" in unknown.json()["fields"]["colour"][0]


def test_read_and_update_at_the_version_read(labs):
    mine, theirs = tube(labs["north"], "N-1"), tube(labs["other"], "O-1")
    client = signed_in(labs["north"])
    url = f"{LIST}{mine.pk}/"

    read = client.get(url).json()
    unversioned = send_json(client, "PATCH", url, {"barcode": "N-2", "colour": 1})
    updated = send_json(client, "PATCH", url, {"barcode": "N-2", "version": 1})
    stale = send_json(client, "PATCH", url, {"barcode": "N-3", "version": 1})

    assert read["barcode"] == "N-1"
    assert client.get(f"{LIST}{theirs.pk}/").status_code == 404
    assert unversioned.status_code == 400
    assert set(unversioned.json()["fields"]) == {"version", "colour"}
    assert updated.status_code == 200 and updated.json()["version"] == 2
    assert stale.status_code == 409
    assert Tube.objects.get(pk=mine.pk).barcode == "N-2"
