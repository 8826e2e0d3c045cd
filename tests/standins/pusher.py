"""A stand-in for Pusher Channels' HTTP API, for tests only.

Pusher cannot run here, so this small threaded HTTP server on a free
127.0.0.1 port plays it. It checks every request as Pusher does, with its own
implementation of Pusher's request signing (not the SDK's):

- the path is `/apps/<app_id>/events` (POST) or `/apps/<app_id>/channels`
  (GET), for its own app id;
- the query carries `auth_key` (its key), `auth_timestamp` (within 600 s),
  `auth_version=1.0`, `body_md5` (the MD5 of the body) and `auth_signature`,
  the HMAC-SHA256 with the secret of
  `"<METHOD>\\n<path>\\n<query>"`, where <query> is the other parameters
  with lower-cased keys, sorted, as `k=v` joined by `&`;
- an event's body is JSON with `name` (at most 200 characters), `channels`
  (1 to 100 valid names) and `data`, a string of at most 10 KB.

Every request is recorded in `requests` the moment it has been read,
before any check or answer. A request that fails a check gets Pusher's
400/401/404/413 and is listed in `problems`. Every good event is in
`events`: Pusher has published it to subscribers whatever then happens to
the reply (delayed, held by `hold_next()`, never read by a client that was
killed or gave up), so a test counting what pages got counts it (issue 20
point 6). `answer_next()` scripts the answer to the next good request (a
500, a 413, a delay); a scripted error means Pusher did not publish it,
unless `published=True` says it failed after publishing.
`subscription_is_valid()` checks a channel-auth answer the way Pusher's
websocket server would; `on_publish`, if set, is called with each event
as it is published (tests/standins/pusher_websocket.py hands it to the
browsers subscribed to its channels).
"""

import hashlib
import hmac
import json
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.standins.http import HTTPStandIn

#: Pusher's limit on an event's data, in bytes.
MAX_EVENT_DATA_BYTES = 10 * 1024
#: How far a request's auth_timestamp may be from the server's clock, in seconds.
MAX_CLOCK_SKEW_SECONDS = 600
#: The stand-in's app secret unless a test gives another (test data, not a secret).
STANDIN_SECRET = "standin-secret"
_CHANNEL = re.compile(r"\A[-a-zA-Z0-9_=@,.;]{1,200}\Z")


def sign(secret: str, text: str) -> str:
    """HMAC-SHA256 of `text` with `secret`, as lower-case hex."""
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


@dataclass
class ReceivedEvent:
    """One accepted event; `received_at` is `time.monotonic()` on arrival
    (the end-to-end test measures release latency with it)."""

    name: str
    channels: list[str]
    data: str
    socket_id: str | None = None
    received_at: float = field(default_factory=time.monotonic)

    @property
    def payload(self) -> Any:
        """`data` decoded from JSON."""
        return json.loads(self.data)


@dataclass
class ScriptedAnswer:
    """What the next good request gets instead of the normal answer;
    `published`: whether Pusher published the event all the same (None:
    only if `status` is 2xx)."""

    status: int
    body: str
    delay_seconds: float = 0.0
    published: bool | None = None

    def publishes(self) -> bool:
        """Whether subscribers get the event that got this answer."""
        return 200 <= self.status < 300 if self.published is None else self.published


@dataclass
class ReceivedRequest:
    """One request as it arrived (recorded before it is checked or answered);
    `received_at` is `time.monotonic()`."""

    method: str
    path: str
    query: list[tuple[str, str]]
    body: bytes
    received_at: float = field(default_factory=time.monotonic)
    answer: list[Any] = field(default_factory=list)


class PusherStandIn(HTTPStandIn):
    """The server; see the module docstring. Use as a context manager."""

    def __init__(
        self,
        app_id: str = "4242",
        key: str = "standin-key",
        secret: str = STANDIN_SECRET,
    ) -> None:
        super().__init__()
        self.app_id, self.key, self.secret = app_id, key, secret
        self.requests: list[ReceivedRequest] = []
        self.events: list[ReceivedEvent] = []
        self.problems: list[str] = []
        self._scripted: deque[ScriptedAnswer] = deque()
        self.on_publish: Callable[[ReceivedEvent], None] | None = None

    def client_options(self) -> dict[str, Any]:
        """OPTIONS for `PusherClient` that point it here."""
        return {
            "app_id": self.app_id,
            "key": self.key,
            "secret": self.secret,
            "host": "127.0.0.1",
            "port": self.port,
            "ssl": False,
        }

    @property
    def request_count(self) -> int:
        """How many requests arrived, good or not, answered or not."""
        with self._lock:
            return len(self.requests)

    def answer_next(
        self,
        status: int,
        body: str,
        delay_seconds: float = 0.0,
        published: bool | None = None,
    ) -> None:
        """Script the answer to the next good request (first in, first out);
        see `ScriptedAnswer` for `published`."""
        with self._lock:
            self._scripted.append(
                ScriptedAnswer(status, body, delay_seconds, published)
            )

    def subscription_is_valid(self, socket_id: str, channel: str, auth: str) -> bool:
        """Whether `auth` ("<key>:<signature>") lets `socket_id` join `channel`."""
        key, _, signature = auth.partition(":")
        expected = sign(self.secret, f"{socket_id}:{channel}")
        return key == self.key and hmac.compare_digest(signature, expected)

    # -- requests ---------------------------------------------------------------
    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        url = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        request = ReceivedRequest(
            handler.command, url.path, parse_qsl(url.query), handler.rfile.read(length)
        )
        with self._lock:
            self.requests.append(request)
        status, body = self._checked_answer(request)
        with self._lock:
            scripted = (
                self._scripted.popleft() if status == 200 and self._scripted else None
            )
            published = bool(request.answer) and (
                scripted is None or scripted.publishes()
            )
            if published:
                self.events.append(request.answer[0])
        if published and self.on_publish is not None:
            self.on_publish(request.answer[0])
        self._wait_if_held()
        if scripted is not None:
            self._stopping.wait(scripted.delay_seconds)
            status, body = scripted.status, scripted.body
        self._send(handler, status, body)

    def _send(self, handler: BaseHTTPRequestHandler, status: int, body: str) -> None:
        raw = body.encode("utf-8")
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(raw)))
            handler.end_headers()
            handler.wfile.write(raw)
        except OSError:
            pass  # the client gave up or was killed: it was recorded all the same

    def _checked_answer(self, request: ReceivedRequest) -> tuple[int, str]:
        routes = {
            ("POST", f"/apps/{self.app_id}/events"): self._event,
            ("GET", f"/apps/{self.app_id}/channels"): lambda _: (
                200,
                '{"channels":{}}',
            ),
        }
        route = routes.get((request.method, request.path))
        if route is None:
            return self._refuse(404, f"no route {request.method} {request.path}")
        problem = self._signature_problem(request)
        if problem:
            return self._refuse(401, problem)
        return route(request)

    def _signature_problem(self, request: ReceivedRequest) -> str:
        params = dict(request.query)
        if len(params) != len(request.query):
            return "a query parameter is repeated"
        if params.get("auth_key") != self.key:
            return "unknown auth_key"
        if params.get("auth_version") != "1.0":
            return "auth_version is not 1.0"
        try:
            skew = abs(time.time() - int(params.get("auth_timestamp", "")))
        except ValueError:
            return "auth_timestamp is not a number"
        if skew > MAX_CLOCK_SKEW_SECONDS:
            return "auth_timestamp is too far from now"
        body_md5 = hashlib.md5(request.body).hexdigest()  # noqa: S324 - the protocol's
        if (request.body or "body_md5" in params) and params.get(
            "body_md5"
        ) != body_md5:
            return "body_md5 does not match the body"
        signature = params.pop("auth_signature", "")
        signed = "&".join(f"{k.lower()}={v}" for k, v in sorted(params.items()))
        expected = sign(self.secret, f"{request.method}\n{request.path}\n{signed}")
        if not hmac.compare_digest(signature, expected):
            return "auth_signature does not match"
        return ""

    def _event(self, request: ReceivedRequest) -> tuple[int, str]:
        try:
            body = json.loads(request.body)
        except ValueError:
            return self._refuse(400, "event body is not JSON")
        name, channels, data = body.get("name"), body.get("channels"), body.get("data")
        if not isinstance(name, str) or not 0 < len(name) <= 200:
            return self._refuse(400, "event name missing or longer than 200")
        if not isinstance(channels, list) or not 0 < len(channels) <= 100:
            return self._refuse(400, "channels missing or more than 100")
        if not all(isinstance(c, str) and _CHANNEL.match(c) for c in channels):
            return self._refuse(400, "invalid channel name")
        if not isinstance(data, str):
            return self._refuse(400, "data is not a string")
        if len(data.encode("utf-8")) > MAX_EVENT_DATA_BYTES:
            return self._refuse(413, "event data over 10 KB")
        request.answer.append(
            ReceivedEvent(name, channels, data, body.get("socket_id"))
        )
        return 200, "{}"

    def _refuse(self, status: int, problem: str) -> tuple[int, str]:
        with self._lock:
            self.problems.append(problem)
        return status, json.dumps({"error": problem})
