"""A lab's webhook receiver, for tests only: a local HTTP(S) server that
checks every delivery's Standard Webhooks signature the way a receiver's
library would, with its own implementation written here from the
specification (https://www.standardwebhooks.com/), not with ours:

- `webhook-id`, `webhook-timestamp` and `webhook-signature` must be there;
- the timestamp must be within five minutes of now;
- HMAC-SHA256 over `<id>.<timestamp>.<raw body>`, keyed with the base64
  part of one of the secrets the receiver knows, must equal one of the
  space-separated `v1,<base64>` signatures (compared in constant time).

Every request is recorded (`requests`) as soon as it is read, whatever
then happens to its reply (tests/standins/http.py); a verified one answers 200, an
unverified one 401 and is listed in `problems` (a test of a correct sender
asserts it stays empty). `answer_next()` scripts what the next requests get
instead (a 500, a 429 with Retry-After, a 410, a redirect, a long body, a
delay longer than the sender waits); `on_request`, if set, is called with
each request before it is answered (what else happens meanwhile);
`hold_next()` keeps the next reply back until the test releases it. The
receiver can be stopped and started again on the same port mid-test, and
serve TLS with a certificate from `make_certificates()`.

    with WebhookReceiver() as receiver:
        endpoint, secret = WebhookEndpoint.create(lab, receiver.url, ["*"])
        receiver.secrets.append(secret)
        ...
        [delivery] = receiver.verified()
"""

import base64
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.standins.http import POLL_INTERVAL_SECONDS, HTTPStandIn

#: Standard Webhooks' recommended tolerance for the timestamp.
TOLERANCE_SECONDS = 5 * 60


class SignatureRejected(Exception):
    """The request would be refused by a Standard Webhooks receiver."""


def verify_standard_webhook(
    secrets: list[str],
    headers: dict[str, str],
    body: bytes,
    now: float | None = None,
) -> int:
    """Check a delivery as the specification says; the index of the secret
    that verified it, or SignatureRejected saying why."""
    try:
        message_id = headers["webhook-id"]
        timestamp = headers["webhook-timestamp"]
        signatures = headers["webhook-signature"]
    except KeyError as missing:
        raise SignatureRejected(f"missing header {missing}") from None
    now = time.time() if now is None else now
    if not timestamp.isdigit() or abs(now - int(timestamp)) > TOLERANCE_SECONDS:
        raise SignatureRejected(f"timestamp {timestamp!r} outside the tolerance")
    signed = f"{message_id}.{timestamp}.".encode() + body
    for index, secret in enumerate(secrets):
        key = base64.b64decode(secret.removeprefix("whsec_"))
        expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
        for signature in signatures.split(" "):
            version, _, value = signature.partition(",")
            if version == "v1" and hmac.compare_digest(value.encode(), expected):
                return index
    raise SignatureRejected("no signature matches a known secret")


@dataclass
class ReceivedRequest:
    """One request as the receiver got it; `verified_by` is the index of
    the secret that verified it (None: rejected)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float
    verified_by: int | None = None

    @property
    def payload(self) -> Any:
        """The body, parsed."""
        return json.loads(self.body)

    @property
    def signatures(self) -> list[str]:
        """The `webhook-signature` header's signatures."""
        return self.headers.get("webhook-signature", "").split(" ")


@dataclass
class ScriptedAnswer:
    """What a request gets instead of the normal answer."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0


class WebhookReceiver(HTTPStandIn):
    """The receiver; see the module docstring."""

    def __init__(self, *, tls: ssl.SSLContext | None = None, path: str = "/hooks"):
        super().__init__()
        self.secrets: list[str] = []
        self.requests: list[ReceivedRequest] = []
        self.problems: list[str] = []
        self.path = path
        self.on_request: Callable[[ReceivedRequest], None] | None = None
        self._tls = tls
        self._port = 0
        self._scripted: deque[ScriptedAnswer] = deque()

    # -- lifecycle ------------------------------------------------------------

    def start(self) -> Self:
        """Listen (on the port of the previous start, if any) and serve."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver._handle(self)

            do_GET = do_PUT = do_POST

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: tests read what the receiver recorded."""

        self._stopping.clear()
        server = ThreadingHTTPServer(("127.0.0.1", self._port), Handler)
        server.daemon_threads = True
        if self._tls is not None:
            server.socket = self._tls.wrap_socket(
                server.socket, server_side=True, do_handshake_on_connect=False
            )
        self._server = server
        self._port = int(server.server_address[1])
        threading.Thread(
            target=server.serve_forever, args=(POLL_INTERVAL_SECONDS,), daemon=True
        ).start()
        return self

    @property
    def port(self) -> int:
        """The port it listens on; kept while stopped, and reused by start()."""
        assert self._port, "start() the receiver first"
        return self._port

    @property
    def url(self) -> str:
        """The URL to subscribe: http://127.0.0.1:<port>/hooks (https and
        `localhost` when serving TLS, the name its certificate is for)."""
        if self._tls is not None:
            return f"https://localhost:{self.port}{self.path}"
        return f"http://127.0.0.1:{self.port}{self.path}"

    # -- scripting and reading -------------------------------------------------

    def answer_next(
        self,
        status: int,
        body: bytes | str = b"",
        headers: dict[str, str] | None = None,
        delay_seconds: float = 0.0,
        times: int = 1,
    ) -> None:
        """Script the answer to the next `times` requests (first in, first out)."""
        raw = body.encode() if isinstance(body, str) else body
        with self._lock:
            for _ in range(times):
                self._scripted.append(
                    ScriptedAnswer(status, raw, headers or {}, delay_seconds)
                )

    def verified(self) -> list[ReceivedRequest]:
        """The requests whose signature checked out, in arrival order."""
        with self._lock:
            return [r for r in self.requests if r.verified_by is not None]

    # -- serving ----------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        request = ReceivedRequest(
            method=handler.command,
            path=handler.path,
            headers={k.lower(): v for k, v in handler.headers.items()},
            body=handler.rfile.read(length),
            received_at=time.time(),
        )
        problem = None
        if request.method != "POST" or request.path != self.path:
            problem = f"{request.method} {request.path}: not the receiver's URL"
        else:
            try:
                request.verified_by = verify_standard_webhook(
                    self.secrets, request.headers, request.body
                )
            except SignatureRejected as exc:
                problem = f"{request.headers.get('webhook-id')}: {exc}"
        with self._lock:
            self.requests.append(request)
            if problem:
                self.problems.append(problem)
            scripted = self._scripted.popleft() if self._scripted else None
        if self.on_request is not None:
            self.on_request(request)
        self._wait_if_held()
        if scripted is None:
            scripted = ScriptedAnswer(401 if problem else 200, b"ok")
        if scripted.delay_seconds:
            self._stopping.wait(scripted.delay_seconds)
        try:
            handler.send_response(scripted.status)
            handler.send_header("Content-Type", "text/plain; charset=utf-8")
            handler.send_header("Content-Length", str(len(scripted.body)))
            for name, value in scripted.headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(scripted.body)
        except OSError:
            pass  # the sender gave up waiting (a timeout test)


@dataclass(frozen=True)
class Certificates:
    """A private CA's certificate (`ca_file`, for the sender to trust) and
    a server context presenting a certificate it signed for `hostname`."""

    ca_file: str
    server_context: ssl.SSLContext


def make_certificates(directory: Path, hostname: str = "localhost") -> Certificates:
    """A CA and a server certificate for `hostname` (and 127.0.0.1), in
    `directory`; what a lab's own CA would issue."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Stand-in Lab CA")])
    ca_cert = (
        _builder(ca_name, ca_name, ca_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    alt_names = x509.SubjectAlternativeName(
        [x509.DNSName(hostname), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    )
    server_cert = (
        _builder(server_name, ca_name, server_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(alt_names, critical=False)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file = directory / "ca.pem"
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    chain_file = directory / "server.pem"
    chain_file.write_bytes(
        server_cert.public_bytes(serialization.Encoding.PEM)
        + server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(chain_file)
    return Certificates(ca_file=str(ca_file), server_context=context)


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: Any, now: dt.datetime
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
    )


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )
