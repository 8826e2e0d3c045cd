"""GenericView.data(): the body through the one JSON parser, and each value
of the JSON type its field expects: the model's fields (`model`), the
view's own (`body_fields`), and `version` in every view. The test views are
in tests/core/middleware/views.py."""

import pytest

from tests.isolation.helpers import csrf_headers, send_json, signed_in

pytestmark = pytest.mark.django_db

SPECIMEN = "/api/test/generic/specimen/"
PLAIN = "/api/test/generic/plain/"


@pytest.fixture
def client(labs, api_urls):
    return signed_in(labs["north"])


def test_values_of_the_models_field_types_are_read(client):
    body = {
        "label": "EDTA tube", "collected_on": "2026-03-01", "fasting": True,
        "received_at": "2026-03-01T08:00:00+05:30", "volume_ml": 2.5,
        "results": {"any": ["json", 1]}, "version": 3, "lab_id": 4,
        "tracking_id": "9b2f0c6e-6a47-4c43-9a53-2d6c1f0e8a10", "reason": "typo",
        "not_a_field": [None],
    }  # fmt: skip

    response = send_json(client, "POST", SPECIMEN, body)

    assert response.status_code == 200, response.content
    assert response.json() == {"got": body}


def test_every_value_of_the_wrong_json_type_is_named_at_once(client):
    body = {
        "label": {"x": 1}, "collected_on": 20260301, "fasting": "true",
        "received_at": "2026-03-01T08:00:00", "version": True, "lab_id": "4",
        "notes": None, "reason": 7, "volume_ml": "2.5",
    }  # fmt: skip

    response = send_json(client, "POST", SPECIMEN, body)

    assert response.status_code == 400
    fields = response.json()["fields"]
    assert set(fields) == set(body)
    assert fields["label"] == [
        "Send text (a JSON string, in double quotes); this is an object."
    ]
    assert fields["version"] == [
        "Send a whole number (a JSON integer, not quoted), such as 3; this is true."
    ]
    assert fields["received_at"][0].endswith("; this is text in another form.")
    assert fields["notes"][0].endswith("; null is not allowed.")
    # body_fields override the model's: volume_ml is declared a plain number
    assert fields["volume_ml"][0].startswith("Send a number (not quoted)")


@pytest.mark.parametrize(("version", "sent"), [(True, "true"), ("1 ", "text")])
def test_a_view_without_a_model_still_wants_version_as_an_integer(
    client, version, sent
):
    response = send_json(client, "POST", PLAIN, {"version": version, "x": "1 "})

    assert response.status_code == 400
    assert response.json()["fields"] == {
        "version": [
            f"Send a whole number (a JSON integer, not quoted), such as 3; this is "
            f"{sent}."
        ]
    }


def test_a_malformed_body_is_a_400_naming_the_place(client):
    response = client.post(
        PLAIN,
        b'{"a": {"b": 1e400}}',
        content_type="application/json",
        headers=csrf_headers(client),
    )

    assert response.status_code == 400
    assert response.json()["fields"] == {
        "a.b": [
            "The number 1e400 is too large (beyond about 1.8e308); send a finite "
            "number."
        ]
    }


def test_query_parameters_are_text_and_not_type_checked(client):
    response = client.get(SPECIMEN + "?version=x&label=1")

    assert response.json() == {"got": {"version": "x", "label": "1"}}
