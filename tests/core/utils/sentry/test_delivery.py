"""Sentry end to end: the SDK, started by init_sentry(), reports a failing
Django view to the Sentry stand-in (tests/standins/sentry.py), and nothing
that arrives carries the patient's data."""

import logging
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
import sentry_sdk
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application
from django.db import connections

from core.utils.sentry import init_sentry, shutdown_sentry
from tests.standins.sentry import SentryStandIn

#: What the patient typed in; none of it may reach Sentry.
PATIENT = {
    "first_name": "Asha",
    "last_name": "Raghunathan",
    "mobile": "+91 98765 43210",
    "email": "asha.r@example.com",
    "date_of_birth": "1990-04-01",
}
SECRETS = {"cookie": "cookie-value-never-sent", "token": "token-never-sent"}
NEVER_SENT = [
    "asha",
    "raghunathan",
    "98765",
    "43210",
    "asha.r@example.com",
    "1990-04-01",
    *SECRETS.values(),
]


@pytest.fixture(scope="module")
def standin() -> Iterator[SentryStandIn]:
    with SentryStandIn() as server:
        yield server


@pytest.fixture
def sentry_on(settings, standin) -> Iterator[SentryStandIn]:
    """Sentry started against the stand-in, and stopped after the test so no
    other test reports anywhere."""
    standin.reset()
    settings.SENTRY_DSN = standin.dsn
    settings.SENTRY_ENVIRONMENT = "test"
    settings.SENTRY_TRACES_SAMPLE_RATE = "1"  # transactions are scrubbed too
    assert init_sentry() is True
    yield standin
    shutdown_sentry()
    assert not sentry_sdk.get_client().is_active()
    assert standin.problems == []


#: What the SDK generates or reads that may hold any digits by chance: hex
#: identifiers (event, trace and span ids, the key, the release's commit:
#: bcf5987653a2... holds "98765"), timestamps, and dotted numbers (versions,
#: epoch seconds). Removed before looking for the patient's data, which none
#: of them can carry.
_INCIDENTAL = re.compile(
    r"\b[0-9a-f]{16,}\b|\d{4}-\d\d-\d\dT[\d:.]+(?:z|[+-]\d\d:?\d\d)?"
    r"|\b\d+(?:\.\d+)+\b",
    re.IGNORECASE,
)


def _leaks(raw: bytes) -> list[str]:
    text = _INCIDENTAL.sub(" ", raw.decode().lower())
    return [value for value in NEVER_SENT if value.lower() in text]


@pytest.mark.engine_independent
def test_identifiers_that_hold_the_patients_digits_by_chance_are_not_leaks():
    envelope = (
        b'{"release":"bcf5987653a21d16df1bc19d78285594dd7fd2b6",'
        b'"event_id":"80213c9f283d456abc0943210b3a5c56",'
        b'"timestamp":"2026-12-04T14:56:18.098765Z","sent_at":1764860178.43210,'
        b'"packages":{"tool":"1.98765.0"},"born":"1990-04-01"}'
    )

    assert _leaks(envelope) == ["1990-04-01"]
    assert _leaks(envelope.replace(b"}", b',"to":"+91 98765 43210"}', 1)) == [
        "98765",
        "43210",
        "1990-04-01",
    ]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test output is for the tests."""


@pytest.fixture
def live_app(settings) -> Iterator[str]:
    """The project's WSGI application on a real HTTP server (as in
    production, so the Sentry integration sees the WSGI request)."""
    settings.ROOT_URLCONF = "tests.core.utils.sentry.views"
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    django_app = get_wsgi_application()

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        try:
            return django_app(environ, start_response)
        finally:
            # The server thread's own connection, or the test database
            # cannot be dropped at the end of the run (PostgreSQL).
            connections.close_all()

    server = make_server("127.0.0.1", 0, app, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def _post(url: str, fields: dict[str, str], headers: dict[str, str]) -> int:
    """POST a form; return the HTTP status."""
    request = urllib.request.Request(  # noqa: S310 - a local test server
        url, data=urllib.parse.urlencode(fields).encode(), headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.django_db(transaction=True)
def test_a_failing_view_is_reported_without_patient_data(sentry_on, live_app):
    # Given a browser with a session cookie and a bearer token
    headers = {
        "Cookie": f"sessionid={SECRETS['cookie']}; theme=dark",
        "Authorization": f"Bearer {SECRETS['token']}",
    }

    # When a view fails while handling a patient's details
    status = _post(
        f"{live_app}/patients/register/?email=asha.r@example.com&ref=R-17",
        PATIENT,
        headers,
    )
    sentry_sdk.flush()

    # Then the error reaches Sentry, useful, and without patient data
    assert status == 500
    assert sentry_on.wait_for_events(1)
    # (The SDK may also send a session envelope; nothing may leak anywhere.)
    assert [_leaks(envelope.raw) for envelope in sentry_on.envelopes] == [
        [] for _ in sentry_on.envelopes
    ]
    [event] = sentry_on.events
    [transaction] = [
        payload
        for envelope in sentry_on.envelopes
        for payload in envelope.payloads("transaction")
    ]
    assert transaction["transaction"] == "/patients/register/"
    [exception] = event["exception"]["values"]
    assert exception["type"] == "ValueError"
    assert exception["value"] == (
        "No sample for [Filtered] [Filtered] ([Filtered], [Filtered])"
    )
    assert exception["mechanism"]["type"] == "django"
    frames = exception["stacktrace"]["frames"]
    assert frames[-1]["function"] == "register_patient"
    assert frames[-1]["vars"]["first_name"] == "[Filtered]"
    assert event["environment"] == "test"
    assert "user" not in event
    request = event["request"]
    assert request["method"] == "POST"
    assert request["url"] == f"{live_app}/patients/register/"
    assert request["headers"]["Authorization"] == "[Filtered]"
    assert request["headers"]["Cookie"] == "[Filtered]"
    assert request["query_string"] == "email=[Filtered]&ref=R-17"
    assert request["data"]["mobile"] == "[Filtered]"


@pytest.mark.django_db
def test_a_logged_error_is_reported_without_patient_data(sentry_on):
    logging.getLogger("patients.results").error(
        "Could not text the result to %s (%s)", PATIENT["mobile"], PATIENT["email"]
    )
    sentry_sdk.flush()

    assert sentry_on.wait_for_events(1)
    [event] = sentry_on.events
    assert event["logentry"]["message"] == "Could not text the result to %s (%s)"
    assert event["logentry"]["params"] == "[Filtered]"
    assert all(_leaks(envelope.raw) == [] for envelope in sentry_on.envelopes)


def test_without_a_dsn_nothing_starts(settings):
    settings.SENTRY_DSN = ""

    assert init_sentry() is False
    assert not sentry_sdk.get_client().is_active()


def test_the_app_starts_sentry_when_a_dsn_is_set(settings, standin):
    settings.SENTRY_DSN = standin.dsn
    try:
        apps.get_app_config("core").ready()

        assert sentry_sdk.get_client().is_active()
        assert sentry_sdk.get_client().dsn == standin.dsn
        # No personal data by default: no users, no SQL parameters.
        collection = sentry_sdk.get_client().options["data_collection"]
        assert collection["user_info"] is False
        assert collection["database_query_data"] is False
    finally:
        shutdown_sentry()


@pytest.mark.parametrize("rate", ["fast", "1.5", "-0.1"])
def test_a_bad_sample_rate_is_a_configuration_error(settings, standin, rate):
    settings.SENTRY_DSN = standin.dsn
    settings.SENTRY_TRACES_SAMPLE_RATE = rate

    with pytest.raises(ImproperlyConfigured, match=r"number from 0 .* to 1"):
        init_sentry()
    assert not sentry_sdk.get_client().is_active()


@pytest.mark.django_db(transaction=True)
def test_sentry_being_down_does_not_change_what_the_user_gets(settings, live_app):
    # Given a DSN whose host does not answer (a closed port)
    settings.SENTRY_DSN = "http://0123456789abcdef@127.0.0.1:9/42"
    init_sentry()
    try:
        # When a view fails
        status = _post(f"{live_app}/patients/register/", PATIENT, {})
        sentry_sdk.flush(timeout=2)
    finally:
        shutdown_sentry()

    # Then the user gets the same 500 as without Sentry
    assert status == 500
