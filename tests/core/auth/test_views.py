"""Signing in and out through /core/auth/ with Django's test client: the lab
each kind of user may sign in to, the session key replaced at sign-in, CSRF,
cookie flags in production, failed sign-ins logged and throttled."""

import json
import logging

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client

from core.auth.backend import SignedInUserBackend
from core.auth.security_events import SECURITY_CATEGORY_ID
from core.models import ActivityLog
from tests.core.middleware.fixtures import (
    LOGOUT_URL,
    PASSWORD,
    make_user,
    post_json,
    sign_in,
)
from tests.redis_servers import RedisServer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _test_urls(api_urls) -> None:
    """The test views (/api/test/...) are needed to check what a session sees."""


def security_entries(action: str) -> list[ActivityLog]:
    return list(
        ActivityLog.objects.filter(action=action, category_id=SECURITY_CATEGORY_ID)
    )


# -- who signs in where -------------------------------------------------------


def test_staff_sign_in_to_their_lab_with_a_new_session_key(client, staff, labs):
    # Given a browser that already has a session (before signing in)
    session = client.session
    session["theme"] = "dark"
    session.save()
    key_before = session.session_key

    # When the staff member signs in without naming a lab
    response = sign_in(client, "asha")

    # Then they are in their own lab, under a new session key
    assert response.status_code == 200
    body = response.json()
    assert body["lab_id"] == labs["central"].pk
    assert body["user"] == {"id": staff.pk, "name": "Asha Rao", "kind": "staff"}
    assert body["csrfToken"]
    key_after = client.cookies["sessionid"].value
    assert key_after != key_before
    assert not SessionStore().exists(key_before)
    stored = SessionStore(key_after).load()
    assert stored["labId"] == labs["central"].pk
    assert "docLabId" not in stored
    assert stored["theme"] == "dark"  # the data moves with the new key
    # And the sign-in is in the activity log, attributed to them
    [entry] = security_entries("login")
    assert (entry.model_label, entry.instance_id, entry.lab_id) == (
        "account.user",
        str(staff.pk),
        labs["central"].pk,
    )
    assert (entry.actor_id, entry.actor_kind) == (str(staff.pk), "staff")
    assert entry.request_id == response["X-Request-ID"]
    assert entry.client_ip == "127.0.0.1"


def test_a_doctor_signs_in_with_doclabid(client, doctor, labs):
    response = sign_in(client, "dr.sen")

    assert response.status_code == 200
    assert response.json()["user"]["kind"] == "doctor"
    stored = client.session
    assert stored["docLabId"] == labs["north"].pk
    assert "labId" not in stored
    assert client.get("/api/test/any-lab/").json() == {
        "lab_id": labs["north"].pk,
        "kind": "doctor",
    }


@pytest.mark.parametrize("target", ["north", "north_clinic"])  # child, grandchild
def test_staff_may_sign_in_to_a_child_lab_at_any_depth(client, staff, labs, target):
    response = sign_in(client, "asha", lab_id=labs[target].pk)

    assert response.status_code == 200
    assert client.session["labId"] == labs[target].pk


@pytest.mark.parametrize(
    "target", ["central", "south", "other"]
)  # parent, sibling, other
def test_staff_may_not_sign_in_to_a_parent_sibling_or_other_lab(client, labs, target):
    make_user("nurse", labs["north"])

    response = sign_in(client, "nurse", lab_id=labs[target].pk)

    assert response.status_code == 403
    assert response.json()["error"] == (
        f"You cannot sign in to lab {labs[target].pk}: staff sign in to their "
        "own lab or one of its child labs."
    )
    assert "sessionid" not in client.cookies
    [entry] = security_entries("login_failed")
    assert entry.message == "Failed sign-in: the lab asked for is not allowed"


def test_a_doctor_may_not_sign_in_to_a_child_lab(client, labs):
    make_user("dr.kapoor", labs["central"], kind="doctor")

    response = sign_in(client, "dr.kapoor", lab_id=labs["north"].pk)

    assert response.status_code == 403
    assert "Doctors sign in to their own lab" in response.json()["error"]


@pytest.mark.parametrize("lab_id", [0, -3])
def test_a_lab_id_that_is_no_lab_id_is_a_bad_request(client, staff, lab_id):
    response = sign_in(client, "asha", lab_id=lab_id)

    assert response.status_code == 400
    assert response.json()["fields"] == {
        "lab_id": ["lab_id is a lab's id, a positive whole number."]
    }


@pytest.mark.parametrize(
    ("lab_id", "sent"),
    [("north", "text"), ("12", "text"), (True, "true"), ([1], "a list"), (1.5, None)],
)
def test_a_lab_id_that_is_not_a_json_integer_is_a_bad_request(
    client, staff, labs, lab_id, sent
):
    response = sign_in(client, "asha", lab_id=lab_id)

    assert response.status_code == 400
    [message] = response.json()["fields"]["lab_id"]
    assert message.startswith("Send a whole number (a JSON integer, not quoted)")
    assert sent is None or message.endswith(f"this is {sent}.")
    assert "sessionid" not in client.cookies


def test_a_user_without_a_lab_cannot_sign_in_here(client, db):
    make_user("admin2", None)

    response = sign_in(client, "admin2")

    assert response.status_code == 403
    assert "not attached to a lab" in response.json()["error"]


def test_nobody_signs_in_to_a_deactivated_lab(client, staff, labs):
    labs["south"].is_active = False
    labs["south"].save()

    response = sign_in(client, "asha", lab_id=labs["south"].pk)

    assert response.status_code == 403
    assert response.json()["error"] == (
        f"Lab {labs['south'].pk} is deactivated; nobody can sign in to it."
    )


# -- bad input ----------------------------------------------------------------


REQUIRED = ["This parameter is required."]


def not_text(sent: str) -> list[str]:
    return [f"Send text (a JSON string, in double quotes); this is {sent}."]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"username": "asha"}, {"password": REQUIRED}),
        ({"username": "asha", "password": ""}, {"password": REQUIRED}),
        ({"username": 42, "password": PASSWORD}, {"username": not_text("an integer")}),
        ({"username": "asha", "password": ["pw"]}, {"password": not_text("a list")}),
        (
            {"username": {"x": 1}, "password": True, "lab_id": "3"},
            {
                "username": not_text("an object"),
                "password": not_text("true"),
                "lab_id": [
                    "Send a whole number (a JSON integer, not quoted), such as 3; "
                    "this is text."
                ],
            },
        ),
        ({"password": 7}, {"username": REQUIRED, "password": not_text("an integer")}),
    ],
)
def test_missing_or_mistyped_credentials_are_bad_requests(client, staff, body, fields):
    response = post_json(client, "/core/auth/login/", body)

    assert response.status_code == 400
    assert response.json()["fields"] == fields


@pytest.mark.parametrize(
    ("username", "field"),
    [
        ("Infinity", "username"),
        ("NaN", "username"),
        ("1e400", "username"),
        ("9" * 4301, "username"),
        ('"asha\\u0000"', "username"),
        ('"\\udc00"', "username"),
        ("[" * 100_000 + "]" * 100_000, None),
        ("20240101", "username"),
    ],
)
def test_the_reviews_malformed_credentials_are_400s_naming_the_field(
    client, staff, username, field
):
    body = f'{{"username": {username}, "password": "{PASSWORD}"}}'

    response = client.post("/core/auth/login/", body, content_type="application/json")

    assert response.status_code == 400
    assert list(response.json().get("fields", {})) == ([field] if field else [])
    assert "sessionid" not in client.cookies
    assert security_entries("login_failed") == []  # refused before any lookup


def test_a_body_that_is_not_json_is_a_bad_request(client, staff):
    response = client.post(
        "/core/auth/login/", "username=asha", content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["error"].startswith("The request body is not valid JSON")


def test_only_post_signs_in(client):
    response = client.get("/core/auth/login/")

    assert response.status_code == 405
    assert response["Allow"] == "POST"


# -- failed sign-ins -----------------------------------------------------------------


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(client, staff, labs):
    wrong = sign_in(client, "asha", "wrong password")
    unknown = sign_in(client, "my secret pass", PASSWORD)

    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["error"] == unknown.json()["error"]
    assert wrong.json()["error"] == "The username or password is not correct."
    known_entry, unknown_entry = ActivityLog.objects.filter(
        action="login_failed"
    ).order_by("id")
    assert (known_entry.instance_id, known_entry.lab_id) == (
        str(staff.pk),
        labs["central"].pk,
    )
    assert known_entry.message == "Failed sign-in: wrong password"
    assert known_entry.actor_kind == "system"
    # What was typed as an unknown username is written nowhere.
    assert unknown_entry.instance_id == ""
    assert unknown_entry.message == "Failed sign-in: unknown username"
    row = ActivityLog.objects.filter(pk=unknown_entry.pk).values().get()
    assert not any("secret pass" in str(value) for value in row.values())


def test_failed_sign_ins_of_an_account_are_throttled(client, staff, settings):
    settings.LOGIN_FAILURE_LIMIT_PER_ACCOUNT = 3

    answers = [sign_in(client, "asha", f"guess {n}").status_code for n in range(3)]
    throttled = sign_in(client, "ASHA", PASSWORD)  # even the right password

    assert answers == [401, 401, 401]
    assert throttled.status_code == 429
    assert 0 < int(throttled["Retry-After"]) <= settings.LOGIN_FAILURE_WINDOW_SECONDS
    assert throttled.json()["error"].startswith("Too many failed sign-ins")
    assert len(security_entries("login_failed")) == 3  # the 4th was not checked
    assert "sessionid" not in client.cookies


def test_failed_sign_ins_from_one_address_are_throttled(client, labs, settings):
    settings.LOGIN_FAILURE_LIMIT_PER_IP = 2
    for name in ("a1", "a2", "a3"):
        make_user(name, labs["north"])

    first, second = (
        sign_in(client, name, "wrong").status_code for name in ("a1", "a2")
    )
    third = sign_in(client, "a3")
    from_elsewhere = sign_in(Client(REMOTE_ADDR="198.51.100.7"), "a3")

    assert (first, second, third.status_code) == (401, 401, 429)
    assert from_elsewhere.status_code == 200


def test_a_successful_sign_in_clears_the_accounts_failures(client, staff, settings):
    settings.LOGIN_FAILURE_LIMIT_PER_ACCOUNT = 3
    for _ in range(2):
        sign_in(client, "asha", "typo")
    assert sign_in(client, "asha").status_code == 200

    later = [sign_in(Client(), "asha", "typo").status_code for _ in range(3)]

    assert later == [401, 401, 401]


def test_failure_counts_live_in_redis_without_the_username(
    client, staff, settings, on_redis
):
    settings.LOGIN_FAILURE_LIMIT_PER_ACCOUNT = 2

    sign_in(client, "asha", "typo")
    sign_in(client, "asha", "typo")
    throttled = sign_in(client, "asha")

    assert throttled.status_code == 429
    keys = sorted(key.decode() for key in on_redis.client().keys("counter:signin:*"))
    assert len(keys) == 2
    assert keys[1] == "counter:signin:ip:127.0.0.1"
    assert keys[0].startswith("counter:signin:account:")
    assert "asha" not in keys[0]
    ttl = on_redis.client().ttl(keys[0])
    assert 0 < ttl <= settings.LOGIN_FAILURE_WINDOW_SECONDS


def test_with_redis_down_sign_in_fails_closed_before_the_password_check(
    client, staff, faulty_redis
):
    faulty_redis.stop()

    response = sign_in(client, "asha", "a guess")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["error"] == (
        "Signing in is unavailable for a moment; try again shortly."
    )
    assert security_entries("login_failed") == []  # no password was checked


class RedisDiesDuringThePasswordCheck(SignedInUserBackend):
    """The project's backend, stopping the test's redis-server while the
    password is checked: after the attempt was counted, before a success
    clears it."""

    server: RedisServer | None = None

    def user_can_authenticate(self, user):
        if self.server is not None:
            self.server.stop()
        return super().user_can_authenticate(user)


@pytest.mark.parametrize(
    ("password", "status", "warning"),
    [
        ("a guess", 401, ""),  # counted before the check: nothing left to write
        (PASSWORD, 200, "failed sign-ins not cleared after a sign-in"),
    ],
)
def test_redis_dying_mid_sign_in_only_costs_the_count(
    client, staff, faulty_redis, settings, caplog, password, status, warning
):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    settings.AUTHENTICATION_BACKENDS = [f"{__name__}.RedisDiesDuringThePasswordCheck"]
    RedisDiesDuringThePasswordCheck.server = faulty_redis
    try:
        with caplog.at_level(logging.WARNING, logger="core.auth.throttle"):
            response = sign_in(client, "asha", password)
    finally:
        RedisDiesDuringThePasswordCheck.server = None

    assert response.status_code == status
    assert warning in caplog.text


# -- signing out --------------------------------------------------------------


def test_sign_out_ends_the_session_and_is_logged(client, staff, labs):
    sign_in(client, "asha")
    key = client.cookies["sessionid"].value

    response = client.post(LOGOUT_URL)

    assert response.status_code == 200
    assert response.json() == {"signed_out": True}
    assert not SessionStore().exists(key)
    assert client.get("/api/test/any-lab/").status_code == 401
    [entry] = security_entries("logout")
    assert (entry.instance_id, entry.lab_id, entry.actor_id) == (
        str(staff.pk),
        labs["central"].pk,
        str(staff.pk),
    )


def test_signing_out_without_a_session_logs_nothing(client, db):
    response = client.post(LOGOUT_URL)

    assert response.status_code == 200
    assert security_entries("logout") == []


# -- CSRF and cookies ---------------------------------------------------------


def test_sign_in_and_out_need_the_csrf_token_which_sign_in_replaces(staff):
    browser = Client(enforce_csrf_checks=True)

    refused = sign_in(browser, "asha")
    issued = browser.get("/core/auth/csrf/")
    token = issued.json()["csrfToken"]
    signed_in = browser.post(
        "/core/auth/login/",
        json.dumps({"username": "asha", "password": PASSWORD}),
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    new_token = signed_in.json()["csrfToken"]
    stale = browser.post(LOGOUT_URL, headers={"X-CSRFToken": token})
    signed_out = browser.post(LOGOUT_URL, headers={"X-CSRFToken": new_token})

    assert issued["Cache-Control"] == "no-store"
    assert refused.status_code == 403
    assert refused.json()["error"].startswith(
        "CSRF check failed (CSRF cookie not set.)"
    )
    assert "GET /core/auth/csrf/" in refused.json()["error"]
    assert signed_in.status_code == 200
    assert new_token != token
    assert stale.status_code == 403
    assert signed_out.status_code == 200


def test_a_csrf_failure_outside_the_api_keeps_djangos_page(db):
    browser = Client(enforce_csrf_checks=True)

    response = browser.post("/admin/login/", {"username": "x", "password": "y"})

    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")


def test_production_cookies_are_secure_httponly_and_samesite(client, staff, settings):
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True

    sign_in(client, "asha")

    session_cookie = client.cookies["sessionid"]
    assert session_cookie["secure"] is True
    assert session_cookie["httponly"] is True
    assert session_cookie["samesite"] == "Lax"
    csrf_cookie = client.cookies["csrftoken"]
    assert csrf_cookie["secure"] is True
    assert csrf_cookie["samesite"] == "Lax"
