"""One signed POST, without the database: what the receiver sees, TLS
verified against the host name, connections pinned to checked addresses,
and every failure returned rather than raised."""

import datetime as dt
import socket
import threading
from email.utils import format_datetime
from typing import Any

import pytest
from django.utils import timezone

from core.utils.webhooks.signing import generate_secret
from core.webhooks.sender import (
    AttemptResult,
    PinnedHTTPConnection,
    connect_to_any,
    parse_retry_after,
    send_webhook,
)
from tests.standins.webhook_receiver import WebhookReceiver, make_certificates

pytestmark = pytest.mark.engine_independent

BODY = b'{"id":"msg_1","type":"patient.created"}'


def send(receiver: WebhookReceiver, **options: Any) -> AttemptResult:
    secret = generate_secret()
    receiver.secrets.append(secret)
    defaults = {"timeout_seconds": 2, "allow_private": True}
    return send_webhook(
        receiver.url, "msg_1", BODY, [secret], **{**defaults, **options}
    )


def test_the_receiver_gets_the_body_and_the_signature_headers():
    with WebhookReceiver() as receiver:
        result = send(receiver)

    assert result.succeeded and result.status_code == 200
    [request] = receiver.verified()
    assert request.body == BODY
    assert request.headers["webhook-id"] == "msg_1"
    assert request.headers["user-agent"] == "lis-webhooks/1"
    assert result.duration_ms >= 0 and result.error_class == ""


def test_a_non_ascii_path_reaches_the_receiver_percent_encoded():
    with WebhookReceiver(path="/hooks/lab%C3%B6r") as receiver:
        secret = generate_secret()
        receiver.secrets.append(secret)
        url = f"http://127.0.0.1:{receiver.port}/hooks/labör"
        result = send_webhook(
            url, "msg_1", BODY, [secret], timeout_seconds=2, allow_private=True
        )

    assert result.status_code == 200
    assert receiver.problems == []


def test_https_is_verified_against_the_host_name(tmp_path):
    certificates = make_certificates(tmp_path, hostname="localhost")
    with WebhookReceiver(tls=certificates.server_context) as receiver:
        result = send(receiver, ca_file=certificates.ca_file)

    assert result.status_code == 200
    [request] = receiver.verified()
    assert request.headers["host"] == f"localhost:{receiver.port}"


def test_a_certificate_for_another_host_is_refused_and_retried(tmp_path):
    certificates = make_certificates(tmp_path, hostname="his.lab.example")
    with WebhookReceiver(tls=certificates.server_context) as receiver:
        result = send(receiver, ca_file=certificates.ca_file)

    assert result.status_code is None
    assert result.error_class == "SSLCertVerificationError"
    assert result.retryable
    assert receiver.requests == []


def test_a_certificate_from_an_untrusted_authority_is_refused(tmp_path):
    certificates = make_certificates(tmp_path)
    with WebhookReceiver(tls=certificates.server_context) as receiver:
        result = send(receiver)  # the system's authorities only

    assert result.error_class == "SSLCertVerificationError"


def test_the_connection_goes_to_the_checked_address_not_a_new_lookup():
    with WebhookReceiver() as receiver:
        # A name that resolves nowhere: only the pinned address can be used.
        connection = PinnedHTTPConnection(
            "his.lab.invalid", receiver.port, ["127.0.0.1"], timeout=2
        )
        connection.request("POST", "/hooks", body=b"{}")
        status = connection.getresponse().status
        connection.close()

    assert status == 401  # unsigned, but it arrived
    assert receiver.requests[0].headers["host"] == f"his.lab.invalid:{receiver.port}"


def test_the_next_checked_address_is_tried_when_one_refuses():
    with WebhookReceiver() as receiver:
        sock = connect_to_any(["127.0.0.2", "127.0.0.1"], receiver.port, timeout=2)
        peer = sock.getpeername()
        sock.close()

    assert peer == ("127.0.0.1", receiver.port)


def test_no_address_at_all_is_a_connection_error():
    with pytest.raises(OSError, match="no address to connect to"):
        connect_to_any([], 80, timeout=1)


def test_a_refused_url_is_not_retried_and_nothing_is_sent():
    with WebhookReceiver() as receiver:
        result = send(receiver, allow_private=False)

    assert result.error_class == "UnsafeWebhookURL"
    assert not result.retryable
    assert receiver.requests == []


def test_a_name_that_does_not_resolve_is_retried():
    result = send_webhook(
        "http://no-such-receiver.invalid/hooks",
        "msg_1",
        BODY,
        [generate_secret()],
        timeout_seconds=2,
        allow_private=True,
    )

    assert result.error_class == "gaierror"
    assert result.retryable


def _read_whole_request(connection: socket.socket) -> bytes:
    """The request's head and its Content-Length of body. Closing with any
    of it unread would make the kernel answer RST rather than FIN, and the
    sender see a reset (ConnectionResetError) instead of a hang-up: headers
    and body may arrive in separate segments, so one recv() is not enough."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += connection.recv(65536)
    head, _, body = received.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += connection.recv(65536)
    return head + body


def test_a_receiver_that_closes_without_answering_is_retried():
    with socket.create_server(("127.0.0.1", 0)) as server:
        url = f"http://127.0.0.1:{server.getsockname()[1]}/"

        def hang_up() -> None:
            connection, _ = server.accept()
            _read_whole_request(connection)
            connection.close()

        threading.Thread(target=hang_up, daemon=True).start()
        result = send_webhook(
            url,
            "msg_1",
            BODY,
            [generate_secret()],
            timeout_seconds=2,
            allow_private=True,
        )

    assert result.error_class == "RemoteDisconnected"
    assert result.retryable


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (None, None),
        ("", None),
        ("120", 120.0),
        (" 5 ", 5.0),
        ("soon", None),
        ("-3", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # in the past: now
        ("Wed, 21 Oct 2015 07:28:00 -0000", None),  # no time zone
    ],
)
def test_retry_after_is_read_as_seconds_or_an_http_date(header, seconds):
    assert parse_retry_after(header) == seconds


def test_retry_after_as_a_future_date_counts_from_now():
    when = format_datetime(timezone.now() + dt.timedelta(minutes=10), usegmt=True)

    assert 590 <= (parse_retry_after(when) or 0) <= 600
