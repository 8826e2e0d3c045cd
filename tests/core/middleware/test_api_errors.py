"""Errors of API views as JSON: 400 / 403 / 404 / 409 / 503 say what was
wrong; a 500 says only which request id to quote, while the details go to
the log and to Sentry (the stand-in in tests/standins/sentry.py)."""

import logging
from collections.abc import Iterator

import pytest
import sentry_sdk
from django.test import Client

from core.http import is_api_path
from core.utils.sentry import init_sentry, shutdown_sentry
from tests.standins.sentry import SentryStandIn

pytestmark = pytest.mark.django_db

#: What the test view's crash message holds; none of it may reach a client.
CRASH_DETAILS = ["Asha", "98765", "hunter2", "RuntimeError", "Traceback"]


@pytest.mark.parametrize(
    ("name", "status", "error"),
    [
        ("plain", 400, "Some values are not valid; see fields."),
        ("bad", 400, "Send the barcode as text."),
        ("bad-empty", 400, "The request is not valid."),
        ("permission", 403, "Only pathologists release reports."),
        ("permission-empty", 403, "You do not have permission to do this."),
        ("http404", 404, "No such report."),
        ("http404-empty", 404, "Not found."),
        ("missing", 404, "Specimen not found."),
        ("missing-plain", 404, "Record not found."),
        (
            "suspicious",
            400,
            "The request is not valid (too many fields, or malformed headers); "
            "check what is sent.",
        ),
        (
            "too-big",
            413,
            "The request body is larger than 2,621,440 bytes, the most accepted "
            "(settings.DATA_UPLOAD_MAX_MEMORY_SIZE); send less.",
        ),
        ("duplicate", 409, "A record with these values already exists; see fields."),
        ("duplicate-and-bad", 400, "Some values are not valid; see fields."),
        (
            "conflict",
            409,
            "Specimen 7 was changed by someone else since you loaded it (your "
            "version 3, current version 4). Reload it and apply your change again.",
        ),
    ],
)
def test_errors_of_api_views_are_json(client, name, status, error):
    response = client.get(f"/api/test/fail/{name}/")

    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["error"] == error
    assert body["request_id"] == response["X-Request-ID"]


def test_a_validation_error_lists_the_fields(client):
    field = client.get("/api/test/fail/field/").json()
    plain = client.get("/api/test/fail/plain/").json()

    assert field["fields"] == {"label": ["Give the specimen a label."]}
    assert plain["fields"] == {
        "__all__": ["The sample was collected after it was received."]
    }


def test_sessions_being_down_is_a_503_to_retry(client, caplog):
    with caplog.at_level(logging.WARNING, logger="core.middleware.api_errors"):
        response = client.get("/api/test/fail/sessions-down/")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "try again shortly" in response.json()["error"]
    assert "Redis call failed" in caplog.text


def test_a_suspicious_request_is_logged_as_django_logs_it(client, caplog):
    with caplog.at_level(logging.ERROR, logger="django.security"):
        response = client.get("/api/test/fail/suspicious/")

    assert response.status_code == 400
    assert "evil.example" not in response.content.decode()
    [record] = [r for r in caplog.records if r.name.startswith("django.security")]
    assert record.name == "django.security.SuspiciousOperation"


def test_a_body_over_the_upload_limit_is_a_413_not_a_500(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = client.post(
        "/api/test/echo/", b'{"name": "' + b"x" * 2000 + b'"}', "application/json"
    )

    assert response.status_code == 413
    assert "larger than 1,000 bytes" in response.json()["error"]


def test_too_many_query_parameters_are_a_400_not_a_500(client, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10

    response = client.get("/api/test/echo/?" + "&".join(f"p{n}=1" for n in range(11)))

    assert response.status_code == 400
    assert response.json()["error"].startswith("The request is not valid")


def test_a_crash_answers_with_the_request_id_only_and_logs_the_details(client, caplog):
    with caplog.at_level(logging.ERROR, logger="core.middleware.api_errors"):
        response = client.get("/api/test/fail/crash/")

    request_id = response["X-Request-ID"]
    assert response.status_code == 500
    assert response.json() == {
        "error": "Something went wrong on our side. If it happens again, quote "
        f"request id {request_id} to support.",
        "request_id": request_id,
    }
    assert not any(detail in response.content.decode() for detail in CRASH_DETAILS)
    [record] = [r for r in caplog.records if r.name == "core.middleware.api_errors"]
    assert record.getMessage() == "Unhandled RuntimeError in GET /api/test/fail/crash/"
    assert record.exc_info[0] is RuntimeError


def test_outside_api_routes_django_handles_errors(db):
    browser = Client(raise_request_exception=False)

    crash = browser.get("/html/test/fail/crash/")
    missing = browser.get("/html/test/fail/http404/")

    assert crash.status_code == 500
    assert not crash["Content-Type"].startswith("application/json")
    assert missing.status_code == 404
    assert missing["Content-Type"].startswith("text/html")


def test_an_api_path_that_matches_nothing_is_a_json_404(client):
    api = client.get("/api/no/such/thing/")
    html = client.get("/no/such/page/")

    assert api.status_code == 404
    assert api.json()["error"] == "There is no API at /api/no/such/thing/."
    assert html.status_code == 404
    assert html["Content-Type"].startswith("text/html")


def test_a_method_a_view_does_not_take_is_a_json_405_with_allow(client):
    """Django answers a 405 in (empty) HTML; on an API route it is JSON,
    and keeps the Allow header a client needs. The fuzz test checks every
    API URL with every method for the same class of answer."""
    for path in ("/core/view/live/", "/core/view/ready/"):
        refused = client.delete(path)

        assert refused.status_code == 405
        assert refused["Content-Type"] == "application/json"
        assert "GET" in refused["Allow"]
        assert refused.json()["error"].startswith("DELETE is not allowed here; use ")


def test_the_api_prefixes_are_a_setting(settings):
    assert is_api_path("/core/auth/login/")
    assert not is_api_path("/admin/")

    settings.API_PATH_PREFIXES = ["/v2/"]

    assert is_api_path("/v2/reports/")
    assert not is_api_path("/api/reports/")


# -- Sentry -------------------------------------------------------------------


@pytest.fixture
def sentry() -> Iterator[SentryStandIn]:
    with SentryStandIn() as standin:
        yield standin


def test_a_crash_reaches_sentry_once_tagged_with_its_request_id(settings, sentry):
    settings.SENTRY_DSN = sentry.dsn
    init_sentry()
    try:
        response = Client().get("/api/test/fail/crash/")
        other = Client().get("/api/test/lab/")
        sentry_sdk.flush()
    finally:
        shutdown_sentry()

    assert response.status_code == 500 and other.status_code == 200
    assert sentry.wait_for_events(1)
    [event] = sentry.events  # once, though both the log and the capture report it
    assert event["tags"]["request_id"] == response["X-Request-ID"]
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    assert sentry.problems == []
