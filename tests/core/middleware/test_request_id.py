"""Request ids: on every answer (refusals by other middleware included), from
the proxy's header only when it is trusted, and on every log line."""

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.test import Client, RequestFactory

from core.http import client_ip_for
from core.middleware.request_id import (
    MAX_REQUEST_ID_LENGTH,
    RequestIdLogFilter,
    request_id_for,
)
from core.utils.activity_log.context import RequestInfo, in_request

pytestmark = pytest.mark.django_db

HEX_ID = r"^[0-9a-f]{32}$"


def test_every_answer_has_a_fresh_id(client):
    first = client.get("/api/test/lab/")
    second = client.get("/api/test/lab/")

    assert first["X-Request-ID"] != second["X-Request-ID"]
    assert len(first["X-Request-ID"]) == 32
    int(first["X-Request-ID"], 16)


def test_refusals_by_later_middleware_carry_an_id_too(db):
    csrf_refused = Client(enforce_csrf_checks=True).post("/api/test/methods/")
    key_refused = Client().get("/api/test/lab/", headers={"X-API-Key": "nope"})

    assert csrf_refused.status_code == 403
    assert key_refused.status_code == 401
    for response in (csrf_refused, key_refused):
        assert response.json()["request_id"] == response["X-Request-ID"]


def test_the_proxy_header_is_ignored_unless_trusted(client, settings):
    untrusted = client.get("/api/test/lab/", headers={"X-Request-ID": "proxy-1"})
    settings.REQUEST_ID_HEADER = "HTTP_X_REQUEST_ID"
    trusted = client.get("/api/test/lab/", headers={"X-Request-ID": "proxy-1"})

    assert untrusted["X-Request-ID"] != "proxy-1"
    assert trusted["X-Request-ID"] == "proxy-1"


@pytest.mark.parametrize(
    "given", ["", "x" * (MAX_REQUEST_ID_LENGTH + 1), "id\nInjected: header"]
)
def test_an_unusable_trusted_id_is_replaced(settings, given):
    settings.REQUEST_ID_HEADER = "HTTP_X_REQUEST_ID"
    request = RequestFactory().get("/", HTTP_X_REQUEST_ID=given)

    assert len(request_id_for(request)) == 32
    assert request_id_for(request) != given


def test_the_client_address_comes_from_the_proxy_only_when_trusted(settings):
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.9, 10.0.0.1"
    )
    assert client_ip_for(request) == "10.0.0.2"

    settings.TRUSTED_PROXY_IP_HEADER = "HTTP_X_FORWARDED_FOR"
    assert client_ip_for(request) == "203.0.113.9"
    assert client_ip_for(RequestFactory().get("/", REMOTE_ADDR="")) is None


@contextmanager
def console_output() -> Iterator[io.StringIO]:
    """What the console handler, as settings.LOGGING configured it, writes."""
    [console] = [
        handler
        for handler in logging.getLogger().handlers
        if isinstance(handler, logging.StreamHandler)
        and any(isinstance(f, RequestIdLogFilter) for f in handler.filters)
    ]
    buffer = io.StringIO()
    previous = console.setStream(buffer)
    try:
        yield buffer
    finally:
        console.setStream(previous)


def test_log_lines_written_during_a_request_carry_its_id(client):
    with console_output() as output:
        response = client.get("/api/test/log/")
        logging.getLogger("tests.outside").warning("after the request")

    lines = output.getvalue().splitlines()
    assert f"[{response['X-Request-ID']}] something worth a look" in lines[0]
    assert "[-] after the request" in lines[-1]


def test_djangos_own_lines_about_an_answer_carry_its_id_too(client):
    with console_output() as output:
        response = client.get("/api/test/fail/permission/")

    assert response.status_code == 403
    assert (
        f"WARNING django.request [{response['X-Request-ID']}] Forbidden: "
        "/api/test/fail/permission/" in output.getvalue()
    )


def test_the_filter_reads_the_request_context():
    record = logging.LogRecord("x", logging.INFO, "", 0, "message", (), None)

    with in_request(RequestInfo(request_id="r-42")):
        RequestIdLogFilter().filter(record)

    assert getattr(record, "request_id", None) == "r-42"
