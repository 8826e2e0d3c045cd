"""The view decorators through Django's test client, on the test views of
tests/core/middleware/views.py: methods, lab sessions, API keys,
permissions, JSON in and out, and rate limits (in process, on a real
redis-server and with it killed)."""

import json

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from core.decorators import (
    allowed_methods,
    rate_limit,
    require_lab_session,
    require_permission,
)
from core.models import ApiKey
from tests.core.middleware.fixtures import make_user, post_json, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _test_urls(api_urls) -> None:
    """Every test here talks to the test views."""


@pytest.fixture
def staff_client(staff) -> Client:
    client = Client()
    sign_in(client, "asha")
    return client


@pytest.fixture
def doctor_client(doctor) -> Client:
    client = Client()
    sign_in(client, "dr.sen")
    return client


@pytest.fixture
def key_headers(labs) -> dict[str, str]:
    _, text = ApiKey.create(labs["north"], "Bridge")
    return {"X-API-Key": text}


# -- allowed_methods ----------------------------------------------------------


def test_other_methods_get_405_with_allow(client):
    assert client.get("/api/test/methods/").json() == {"method": "GET"}
    assert client.post("/api/test/methods/").json() == {"method": "POST"}

    response = client.delete("/api/test/methods/")

    assert response.status_code == 405
    assert response["Allow"] == "GET, POST"
    assert response.json()["error"] == "DELETE is not allowed here; use GET or POST."


def test_allowed_methods_needs_a_method():
    with pytest.raises(ValueError, match="at least one method"):
        allowed_methods()


# -- require_lab_session ------------------------------------------------------


def test_lab_sessions_by_kind(staff_client, doctor_client, labs):
    assert staff_client.get("/api/test/staff/").json() == {"lab_id": labs["central"].pk}
    assert doctor_client.get("/api/test/doctor/").json() == {"lab_id": labs["north"].pk}
    assert staff_client.get("/api/test/any-lab/").status_code == 200
    assert doctor_client.get("/api/test/any-lab/").status_code == 200

    doctor_on_staff = doctor_client.get("/api/test/staff/")
    staff_on_doctor = staff_client.get("/api/test/doctor/")

    assert doctor_on_staff.status_code == staff_on_doctor.status_code == 403
    assert doctor_on_staff.json()["error"] == (
        "This is for lab staff signed in to a lab; this request is from a doctor."
    )
    assert staff_on_doctor.json()["error"] == (
        "This is for a doctor signed in to a lab; this request is from lab staff."
    )


def test_no_lab_session_is_401_and_an_api_key_is_403(client, key_headers):
    anonymous = client.get("/api/test/any-lab/")
    with_key = client.get("/api/test/any-lab/", headers=key_headers)

    assert anonymous.status_code == 401
    assert anonymous.json()["error"] == (
        "Sign in to a lab first (POST /core/auth/login/)."
    )
    assert with_key.status_code == 403
    assert with_key.json()["error"] == (
        "This is for a doctor or lab staff signed in to a lab; this request is "
        "from an API key."
    )


def test_require_lab_session_names_the_kinds():
    with pytest.raises(ValueError, match="use one of staff, doctor, any"):
        require_lab_session("nurse")


# -- require_api_key ----------------------------------------------------------


def test_key_views_need_a_key_and_no_csrf_token(staff_client, key_headers, labs):
    browser = Client(enforce_csrf_checks=True)

    without = post_json(browser, "/api/test/specimens/", {"label": "S-1"})
    with_session_only = post_json(staff_client, "/api/test/specimens/", {"label": "S"})
    with_key = post_json(
        browser, "/api/test/specimens/", {"label": "S-1"}, **key_headers
    )

    assert without.status_code == with_session_only.status_code == 401
    assert without.json()["error"] == (
        "Send an API key: 'Authorization: Bearer <key>' or 'X-API-Key: <key>'."
    )
    assert with_key.status_code == 200
    assert with_key.json()["lab_id"] == labs["north"].pk


# -- require_permission -------------------------------------------------------


def test_permissions(client, staff, key_headers):
    anonymous = client.get("/api/test/permission/")
    sign_in(client, "asha")
    without = client.get("/api/test/permission/")
    staff.user_permissions.add(
        Permission.objects.get(
            content_type__app_label="lifecycle_tests", codename="view_specimen"
        )
    )
    granted = client.get("/api/test/permission/")

    assert anonymous.status_code == 401
    assert without.status_code == 403
    assert without.json()["error"] == (
        "You need the permission lifecycle_tests.view_specimen to do this; ask "
        "your lab's administrator."
    )
    assert granted.json() == {"allowed": True}


def test_a_permission_is_named_with_its_app():
    with pytest.raises(ValueError, match=r"'app_label\.codename'"):
        require_permission("view_specimen")


# -- json_view ----------------------------------------------------------------


def test_json_in_and_out(client):
    response = post_json(client, "/api/test/echo/", {"name": "CBC", "count": 0})

    assert response.status_code == 200
    assert response.json() == {"got": {"name": "CBC", "count": 0}}
    assert response["Cache-Control"] == "no-store"


def test_get_parameters_come_from_the_query_string(client):
    response = client.get("/api/test/echo/", {"name": "CBC", "count": "2"})

    assert response.json() == {"got": {"name": "CBC", "count": "2"}}


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            '{"name": "CBC",}',
            "The request body is not valid JSON (Illegal trailing comma before end "
            "of object at line 1, column 15). Send a JSON object such as "
            '{"name": "value"}.',
        ),
        ("[1, 2]", "The request body must be a JSON object ({...}), not a list."),
        ('"CBC"', "The request body must be a JSON object ({...}), not a string."),
        ("12", "The request body must be a JSON object ({...}), not a number."),
        ("null", "The request body must be a JSON object ({...}), not null."),
        ("true", "The request body must be a JSON object ({...}), not true/false."),
    ],
)
def test_malformed_bodies_are_400_saying_what_is_wrong(client, body, error):
    response = client.post("/api/test/echo/", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"] == error


def test_a_body_the_parser_refuses_is_400_naming_the_place(client):
    body = b'{"name": "CBC", "count": 2, "extra": {"notes": ["ok", "\\u0000"]}}'

    response = client.post("/api/test/echo/", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["fields"] == {
        "extra.notes[1]": [
            "Text may not contain the NUL character (U+0000); remove it."
        ]
    }
    assert response.json()["error"].startswith("extra.notes[1]: Text may not")


def test_a_query_parameter_with_a_nul_is_400(client):
    response = client.get("/api/test/echo/?name=CBC&count=%00")

    assert response.status_code == 400
    assert response.json()["fields"] == {
        "count": [
            "In a query parameter: Text may not contain the NUL character (U+0000); "
            "remove it."
        ]
    }


def test_declared_fields_must_have_their_json_type_all_reported_at_once(client):
    body = {"count": "2", "day": 19900101, "tags": ["a", 3], "other": {"free": 1}}

    response = post_json(client, "/api/test/typed/", body)

    assert response.status_code == 400
    assert response.json()["error"] == "Some values are not valid; see fields."
    assert response.json()["fields"] == {
        "name": ["This parameter is required."],
        "count": [
            "Send a whole number (a JSON integer, not quoted), such as 3; this is text."
        ],
        "day": [
            'Send a date as text in the form YYYY-MM-DD, such as "1990-04-01"; this '
            "is an integer."
        ],
        "tags[1]": ["Send text (a JSON string, in double quotes); this is an integer."],
    }


def test_values_of_their_json_types_reach_the_view(client):
    body = {"name": "CBC", "count": 2, "day": None, "tags": ["a"], "other": [1.5]}

    response = post_json(client, "/api/test/typed/", body)

    assert response.status_code == 200
    assert response.json() == {"got": body}


def test_query_parameters_are_text_and_not_type_checked(client):
    response = client.get("/api/test/typed/?name=CBC&count=2")

    assert response.status_code == 200
    assert response.json() == {"got": {"name": "CBC", "count": "2"}}


def test_a_body_that_is_not_utf8_is_400(client):
    response = client.post(
        "/api/test/echo/", b'{"name": "\xff"}', content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["error"] == (
        "The request body is not UTF-8 text (byte 10 cannot be read); send JSON "
        "encoded as UTF-8."
    )


@pytest.mark.parametrize(
    ("body", "missing"),
    [
        ({}, ["name", "count"]),
        ({"name": "CBC"}, ["count"]),
        ({"name": "", "count": None}, ["name", "count"]),
    ],
)
def test_missing_parameters_are_listed(client, body, missing):
    response = post_json(client, "/api/test/echo/", body)

    assert response.status_code == 400
    assert response.json()["error"] == f"Missing parameters: {', '.join(missing)}."
    assert response.json()["fields"] == {
        name: ["This parameter is required."] for name in missing
    }


def test_an_empty_body_is_an_empty_object(client):
    response = client.post("/api/test/echo/", "", content_type="application/json")

    assert response.json()["error"] == "Missing parameters: name, count."


def test_a_view_may_return_a_list_or_its_own_response(client):
    assert post_json(client, "/api/test/list/", {}).json() == [1, 2, 3]
    own = post_json(client, "/api/test/response/", {})
    assert (own.status_code, own.json()) == (201, {"own": True})


def test_a_form_body_is_not_json(client):
    response = client.post("/api/test/list/", {"name": "CBC"})

    assert response.status_code == 400
    assert response.json()["error"].startswith("The request body is not valid JSON")


def test_a_view_returning_something_else_is_a_server_error(client):
    response = post_json(Client(), "/api/test/wrong-return/", {})

    assert response.status_code == 500
    assert "wrong_return returned str" not in response.content.decode()


# -- rate_limit ---------------------------------------------------------------


def test_past_the_limit_per_ip_is_429_with_retry_after(db):
    here, elsewhere = Client(), Client(REMOTE_ADDR="198.51.100.7")

    answers = [here.get("/api/test/limited/ip/").status_code for _ in range(4)]
    refused = here.get("/api/test/limited/ip/")

    assert answers == [200, 200, 200, 429]
    assert 0 < int(refused["Retry-After"]) <= 60
    assert refused.json()["error"].startswith(
        "Too many requests: at most 3 per 60 seconds per ip. Try again in "
    )
    assert elsewhere.get("/api/test/limited/ip/").status_code == 200


def test_per_lab_is_shared_by_the_labs_users_only(staff, doctor, labs):
    make_user("ravi", labs["central"])
    asha, ravi, north_doctor = Client(), Client(), Client()
    sign_in(asha, "asha")
    sign_in(ravi, "ravi")
    sign_in(north_doctor, "dr.sen")

    answers = [
        client.get("/api/test/limited/lab/").status_code
        for client in (asha, ravi, asha, ravi, north_doctor)
    ]

    assert answers == [200, 200, 200, 429, 200]


def test_per_user_counts_each_user_and_each_key(staff, labs, key_headers):
    make_user("ravi", labs["central"])
    asha, ravi = Client(), Client()
    sign_in(asha, "asha")
    sign_in(ravi, "ravi")

    asha_answers = [asha.get("/api/test/limited/user/").status_code for _ in range(4)]
    ravi_answer = ravi.get("/api/test/limited/user/").status_code
    key_answer = Client().get("/api/test/limited/user/", headers=key_headers)

    assert asha_answers == [200, 200, 200, 429]
    assert ravi_answer == 200
    assert key_answer.status_code == 200  # same address, but counted by key


def test_without_a_lab_or_user_the_address_is_counted(client):
    lab_answers = [client.get("/api/test/limited/lab/").status_code for _ in range(4)]
    user_answers = [client.get("/api/test/limited/user/").status_code for _ in range(4)]

    assert lab_answers == user_answers == [200, 200, 200, 429]


def test_a_scope_shares_one_limit_between_views(client):
    answers = [
        client.get(url).status_code
        for url in ("/api/test/shared/a/", "/api/test/shared/b/", "/api/test/shared/a/")
    ]

    assert answers == [200, 200, 429]


def test_limits_are_counted_in_redis_when_it_is_there(client, on_redis):
    answers = [client.get("/api/test/limited/ip/").status_code for _ in range(4)]

    assert answers == [200, 200, 200, 429]
    [key] = on_redis.client().keys("counter:rate:*")
    assert key.decode().endswith(":ip:127.0.0.1")
    assert json.loads(on_redis.client().get(key)) == 4


def test_with_redis_killed_limits_fail_open_unless_told_otherwise(
    client, faulty_redis, settings
):
    faulty_redis.stop()

    opened = [client.get("/api/test/limited/open/").status_code for _ in range(5)]
    closed = client.get("/api/test/limited/closed/")
    default = client.get("/api/test/limited/ip/").status_code
    settings.RATE_LIMIT_FAIL_OPEN = False
    default_closed = client.get("/api/test/limited/ip/")

    assert opened == [200] * 5
    assert closed.status_code == 503
    assert closed["Retry-After"] == "5"
    assert closed.json()["error"] == (
        "This service is briefly unavailable; try again shortly."
    )
    assert default == 200
    assert default_closed.status_code == 503


@pytest.mark.parametrize(
    ("args", "kwargs", "error"),
    [
        ((3, 60), {"per": "patient"}, "use one of lab, user, ip"),
        ((0, 60), {}, "limit >= 1"),
        ((3, 0), {}, "window_seconds >= 1"),
    ],
)
def test_rate_limit_refuses_bad_arguments(args, kwargs, error):
    with pytest.raises(ValueError, match=error):
        rate_limit(*args, **kwargs)
