"""Sentry stand-in: a local HTTP server that receives what the Sentry SDK
sends, for tests only. It is NOT Sentry; it plays the DSN's host so a test
can check what would leave the process.

It accepts `POST /api/<project_id>/envelope/` and checks each request as
Sentry's ingestion would: the `X-Sentry-Auth` header (sentry_key must be the
DSN's public key, sentry_version 7), the envelope content type, the body's
encoding (gzip or none; brotli only if the `brotli` module is installed),
and the envelope format (a JSON header line, then items, each a JSON header
line and a payload of the declared length). What fails a check is listed in
`problems` and answered with 400 or 401; every envelope is recorded, with
its decoded bytes in `raw` so a test can search all of it for leaked data.

    with SentryStandIn() as sentry:
        sentry_sdk.init(dsn=sentry.dsn)
        ...
        assert sentry.wait_for_events(1)
        assert "Asha" not in sentry.envelopes[0].raw.decode()
"""

import gzip
import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: How long `wait_for_events` waits by default (the SDK sends from a thread).
WAIT_SECONDS = 5.0


@dataclass
class Envelope:
    """One envelope: its header, its items as (item header, payload), and the
    whole decoded body."""

    header: dict[str, Any]
    items: list[tuple[dict[str, Any], bytes]] = field(default_factory=list)
    raw: bytes = b""

    def payloads(self, item_type: str) -> list[dict[str, Any]]:
        """The JSON payloads of the items of `item_type` ("event", ...)."""
        return [
            json.loads(body)
            for head, body in self.items
            if head.get("type") == item_type
        ]


class SentryStandIn:
    """See the module docstring. Use as a context manager."""

    def __init__(self, project_id: str = "42") -> None:
        self.project_id = project_id
        self.public_key = secrets.token_hex(16)
        self.envelopes: list[Envelope] = []
        self.problems: list[str] = []
        self._arrived = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def dsn(self) -> str:
        """The DSN that sends to this server."""
        port = self._server.server_address[1]
        return f"http://{self.public_key}@127.0.0.1:{port}/{self.project_id}"

    def __enter__(self) -> "SentryStandIn":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        """Forget what was received."""
        with self._arrived:
            self.envelopes.clear()
            self.problems.clear()

    @property
    def events(self) -> list[dict[str, Any]]:
        """Every error event received, oldest first."""
        with self._arrived:
            return [event for env in self.envelopes for event in env.payloads("event")]

    def wait_for_events(self, count: int, timeout: float = WAIT_SECONDS) -> bool:
        """Wait until `count` error events have arrived; False on timeout."""
        with self._arrived:
            return self._arrived.wait_for(
                lambda: sum(len(e.payloads("event")) for e in self.envelopes) >= count,
                timeout,
            )

    # -- request handling ----------------------------------------------------

    def receive(self, path: str, headers: dict[str, str], body: bytes) -> int:
        """Check and record one request; return the HTTP status to answer."""
        problem, status = self._check(path, headers)
        if problem is None:
            try:
                envelope = _parse(_decode(body, headers.get("content-encoding", "")))
            except ValueError as exc:
                problem, status = f"malformed envelope: {exc}", 400
            else:
                if envelope.header.get("dsn") not in (None, self.dsn):
                    problem, status = "the envelope names another DSN", 400
        with self._arrived:
            if problem is not None:
                self.problems.append(problem)
                return status
            self.envelopes.append(envelope)
            self._arrived.notify_all()
        return 200

    def _check(self, path: str, headers: dict[str, str]) -> tuple[str | None, int]:
        if path != f"/api/{self.project_id}/envelope/":
            return f"unexpected path {path}", 404
        auth = _auth_fields(headers.get("x-sentry-auth", ""))
        if (
            auth.get("sentry_key") != self.public_key
            or auth.get("sentry_version") != "7"
        ):
            return f"bad X-Sentry-Auth {auth}", 401
        if headers.get("content-type") != "application/x-sentry-envelope":
            return f"content type {headers.get('content-type')!r}", 400
        return None, 200


def _auth_fields(header: str) -> dict[str, str]:
    """`Sentry sentry_key=abc, sentry_version=7` -> {"sentry_key": "abc", ...}."""
    if not header.startswith("Sentry "):
        return {}
    pairs = (part.strip().partition("=") for part in header[7:].split(","))
    return {key: value for key, _, value in pairs}


def _decode(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "br":
        import brotli  # type: ignore[import-untyped,unused-ignore]  # only if the SDK used it

        return bytes(brotli.decompress(body))
    if encoding in ("", "identity"):
        return body
    raise ValueError(f"unknown Content-Encoding {encoding!r}")


def _parse(data: bytes) -> Envelope:
    """Sentry's envelope format: header line, then (item header, payload)*."""
    head, _, rest = data.partition(b"\n")
    envelope = Envelope(header=json.loads(head), raw=data)
    while rest.strip():
        item_head, _, rest = rest.partition(b"\n")
        item_header = json.loads(item_head)
        length = item_header.get("length")
        if length is None:
            payload, _, rest = rest.partition(b"\n")
        else:
            payload, rest = rest[:length], rest[length:]
            if len(payload) != length:
                raise ValueError("an item is shorter than its declared length")
            rest = rest.removeprefix(b"\n")
        envelope.items.append((item_header, payload))
    return envelope


def _handler_for(standin: SentryStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status = standin.receive(self.path, headers, body)
            data = b"{}"
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the test output is for the tests."""

    return Handler
