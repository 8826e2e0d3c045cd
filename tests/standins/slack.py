"""A stand-in for Slack (Web API and incoming webhooks), for tests only.

Slack cannot run here, so this small threaded HTTP server on a free
127.0.0.1 port plays it. It checks every request as Slack would and records
it:

- `POST /api/chat.postMessage`: `Authorization: Bearer <token>`, a JSON or
  form body with `channel` and `text` or `blocks`; answers
  `{"ok": true, "channel": ..., "ts": ...}`, or `{"ok": false, "error": ...}`
  (`invalid_auth`, `channel_not_found`, `no_text`) like Slack.
- `POST /api/auth.test`: the bearer token.
- `POST <webhook path>`: a JSON body with `text` or `blocks`; answers `ok`,
  `400 no_text`/`invalid_payload`, or `404 no_service` for another hook path.

Requests that fail a check are listed in `problems` (a test of a correct
client asserts it stays empty). `answer_next()` scripts what the next
request gets (a 429 with Retry-After, a 500, an error body, a delay), after
the request has been checked and recorded; `hold_next()` keeps the next
reply back until the test releases it. Every request is in `requests` from
the moment it was read, whatever happens to its reply (tests/standins/http.py).

    with SlackStandIn() as slack:
        client = SlackClient(token=slack.token, base_url=slack.base_url)
        ...
        assert slack.requests[0].json["channel"] == "#lab-alerts"
"""

import json
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs

from tests.standins.http import HTTPStandIn

#: The bot token it accepts unless a test gives another (test data, not a secret).
STANDIN_TOKEN = "xoxb-standin-token"
WEBHOOK_PATH = "/services/T0STANDIN/B0STANDIN/standin-webhook-secret"


@dataclass
class RecordedRequest:
    """One request as the stand-in received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def fields(self) -> dict[str, Any]:
        """The body's fields, from JSON or a urlencoded form (blocks decoded)."""
        content_type = self.headers.get("content-type", "")
        if content_type.startswith("application/json"):
            parsed = json.loads(self.body or b"null")
            return parsed if isinstance(parsed, dict) else {}
        form = {k: v[0] for k, v in parse_qs(self.body.decode("utf-8")).items()}
        if "blocks" in form:
            form["blocks"] = json.loads(form["blocks"])
        return form


@dataclass
class ScriptedAnswer:
    """What the next request gets instead of the normal answer."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0


class SlackStandIn(HTTPStandIn):
    """The server; see the module docstring. Use as a context manager."""

    def __init__(
        self, token: str = STANDIN_TOKEN, webhook_path: str = WEBHOOK_PATH
    ) -> None:
        super().__init__()
        self.token = token
        self.webhook_path = webhook_path
        self.requests: list[RecordedRequest] = []
        self.problems: list[str] = []
        self._scripted: deque[ScriptedAnswer] = deque()

    @property
    def base_url(self) -> str:
        """Where the Web API lives, for `SlackClient(base_url=...)`."""
        return f"http://127.0.0.1:{self.port}/api/"

    @property
    def webhook_url(self) -> str:
        """The incoming-webhook URL (its path is the secret)."""
        return f"http://127.0.0.1:{self.port}{self.webhook_path}"

    def answer_next(
        self,
        status: int,
        body: Any,
        headers: dict[str, str] | None = None,
        delay_seconds: float = 0.0,
    ) -> None:
        """Script the answer to the next request (queued, first in first out)."""
        with self._lock:
            self._scripted.append(
                ScriptedAnswer(status, body, headers or {}, delay_seconds)
            )

    # -- requests ---------------------------------------------------------------
    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        request = RecordedRequest(
            method=handler.command,
            path=handler.path,
            headers={k.lower(): v for k, v in handler.headers.items()},
            body=handler.rfile.read(length),
        )
        with self._lock:
            self.requests.append(request)
        status, body, headers = self._checked_answer(request)
        self._wait_if_held()
        with self._lock:
            scripted = self._scripted.popleft() if self._scripted else None
        if status < 400 and (not isinstance(body, dict) or body.get("ok")):
            if scripted is not None:
                self._stopping.wait(scripted.delay_seconds)
                status, body, headers = scripted.status, scripted.body, scripted.headers
        elif scripted is not None:
            with self._lock:
                self._scripted.appendleft(scripted)  # keep it for a good request
        self._send(handler, status, body, headers)

    def _checked_answer(
        self, request: RecordedRequest
    ) -> tuple[int, Any, dict[str, str]]:
        if request.method != "POST":
            return self._refuse(f"{request.method} {request.path}", 405, "method")
        if request.path == self.webhook_path:
            return self._webhook_answer(request)
        if request.path.startswith("/services/"):
            return self._refuse(f"unknown webhook {request.path}", 404, "no_service")
        if request.path not in ("/api/chat.postMessage", "/api/auth.test"):
            return self._refuse(f"unknown path {request.path}", 404, "unknown_method")
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return self._refuse("missing or wrong bearer token", 200, "invalid_auth")
        if request.path == "/api/auth.test":
            return 200, {"ok": True, "team": "Stand-in Team", "user": "lis-bot"}, {}
        try:
            fields = request.fields
        except (ValueError, UnicodeDecodeError):
            return self._refuse(
                "body is neither JSON nor a form", 200, "invalid_form_data"
            )
        if not fields.get("channel"):
            return self._refuse("no channel", 200, "channel_not_found")
        if not fields.get("text") and not fields.get("blocks"):
            return self._refuse("no text or blocks", 200, "no_text")
        if "blocks" in fields and not isinstance(fields["blocks"], list):
            return self._refuse("blocks is not a list", 200, "invalid_blocks")
        answer = {
            "ok": True,
            "channel": "C0STANDIN",
            "ts": f"1767225600.{len(self.requests):06d}",
            "message": {"text": fields.get("text", "")},
        }
        return 200, answer, {}

    def _webhook_answer(
        self, request: RecordedRequest
    ) -> tuple[int, Any, dict[str, str]]:
        try:
            payload = json.loads(request.body)
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            return self._refuse(
                "webhook body is not a JSON object", 400, "invalid_payload"
            )
        if not payload.get("text") and not payload.get("blocks"):
            return self._refuse("webhook body has no text or blocks", 400, "no_text")
        return 200, "ok", {}

    def _refuse(
        self, problem: str, status: int, error: str
    ) -> tuple[int, Any, dict[str, str]]:
        with self._lock:
            self.problems.append(problem)
        if status == 200:  # the Web API answers 200 with ok: false
            return 200, {"ok": False, "error": error}, {}
        return status, error, {}

    def _send(
        self,
        handler: BaseHTTPRequestHandler,
        status: int,
        body: Any,
        headers: dict[str, str],
    ) -> None:
        if isinstance(body, str):
            raw, content_type = body.encode("utf-8"), "text/plain; charset=utf-8"
        else:
            raw, content_type = json.dumps(body).encode("utf-8"), "application/json"
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(raw)))
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(raw)
        except OSError:
            pass  # the client gave up (a timeout test): nothing to answer
