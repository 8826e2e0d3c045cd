"""A forwarding proxy in front of a real HTTP server (moto's S3 in the
release end-to-end test), for tests only, so a test can hold the reply to
a request the server has already carried out: the request goes through,
the server acts on it, and the caller is killed before the answer comes
back, which only a crash inside the call can show.

Every request is recorded in `requests` before it is forwarded (the
invariant of tests/standins/http.py). `hold_next()` holds the reply to the
next request whose method is in `hold_methods` (PUT by default: an upload,
not the HEAD or GET around it). When the server cannot be reached the
proxy closes the connection unanswered; stop the proxy too to refuse
connections as a stopped server does.

    proxy = HoldingProxy(moto.url).start()
    hold = proxy.hold_next()  # the next upload's reply
"""

import http.client
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from tests.standins.http import HTTPStandIn

#: How long a forwarded request may take at the server, in seconds.
UPSTREAM_TIMEOUT_SECONDS = 30
#: Hop-by-hop headers, which a proxy does not pass on.
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "expect"}


@dataclass
class ProxiedRequest:
    """One request as it arrived; `status` is the server's answer (0 while
    in flight, or when the server could not be reached)."""

    method: str
    path: str
    body: bytes
    received_at: float = field(default_factory=time.monotonic)
    status: int = 0


class HoldingProxy(HTTPStandIn):
    """The proxy; see the module docstring."""

    protocol_version = "HTTP/1.1"  # boto3 sends Expect: 100-continue

    def __init__(self, upstream: str, hold_methods: tuple[str, ...] = ("PUT",)):
        super().__init__()
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.hold_methods = hold_methods
        self.requests: list[ProxiedRequest] = []

    @property
    def url(self) -> str:
        """Where clients send what is meant for the server."""
        return f"http://127.0.0.1:{self.port}"

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        request = ProxiedRequest(
            handler.command, handler.path, handler.rfile.read(length)
        )
        with self._lock:
            self.requests.append(request)
        headers = {
            k: v for k, v in handler.headers.items() if k.lower() not in _HOP_BY_HOP
        }
        try:
            answer = self._forward(request, headers)
        except OSError:
            handler.close_connection = True  # as a dead server: no answer
            return
        if request.method in self.hold_methods:
            self._wait_if_held()
        self._send(handler, request, *answer)

    def _forward(
        self, request: ProxiedRequest, headers: dict[str, str]
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        connection = http.client.HTTPConnection(
            self.upstream_host, self.upstream_port, timeout=UPSTREAM_TIMEOUT_SECONDS
        )
        try:
            connection.request(request.method, request.path, request.body, headers)
            response = connection.getresponse()
            body = response.read()
        finally:
            connection.close()
        request.status = response.status
        return response.status, response.getheaders(), body

    def _send(
        self,
        handler: BaseHTTPRequestHandler,
        request: ProxiedRequest,
        status: int,
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> None:
        try:
            handler.send_response(status)
            for name, value in headers:
                if name.lower() not in _HOP_BY_HOP | {"content-length"}:
                    handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            if request.method != "HEAD":
                handler.wfile.write(body)
        except OSError:
            pass  # the client was killed or gave up: the server acted all the same
