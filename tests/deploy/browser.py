"""A browser (or API client) reaching gunicorn through the TLS-terminating
proxy the README puts in front of it, over real HTTP.

The proxy is played by the headers it adds: `X-Forwarded-Proto: https`
and the public `Host`. Cookies are kept by hand because, with DEBUG off,
they are `Secure`: a browser sends them over its HTTPS connection to the
proxy, which passes them on over plain HTTP, as here. Forms are read from
the page and sent back with the fields the test fills in, so the admin's
CSRF token and hidden fields travel as a browser would send them.

    browser = Browser(port, "lis.example.com")
    browser.submit("/admin/login/", {"username": ..., "password": ...})
    page = browser.get("/admin/patients/report/")
"""

import http.client
import json
from dataclasses import dataclass
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode

TIMEOUT_SECONDS = 30


@dataclass
class Answer:
    """One HTTP answer."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)


class FormFields(HTMLParser):
    """The fields of the first form of a page holding a CSRF token, with
    what a browser would send unchanged: hidden and text inputs' values,
    checked boxes, each select's selected option, textareas' text."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self._in_form = self._done = False
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if self._done:
            return
        if tag == "form":
            self._in_form = True
        elif self._in_form and tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind not in ("submit", "button", "file"):
                self.fields[a["name"]] = a.get("value", "")
        elif self._in_form and tag == "select":
            self._select = a.get("name")
        elif self._select and tag == "option" and "selected" in a:
            self.fields[self._select] = a.get("value", "")
        elif self._in_form and tag == "textarea":
            self._textarea = a.get("name")
            self.fields[self._textarea or ""] = ""

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.fields[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form" and "csrfmiddlewaretoken" in self.fields:
            self._done = True
        elif tag == "form":
            self.fields, self._in_form = {}, False


class Browser:
    """See the module docstring. `headers` go with every request (an API
    key's `Authorization`, for an API client)."""

    def __init__(self, port: int, host: str, **headers: str) -> None:
        self.port = port
        self.origin = f"https://{host}"
        self.host = host
        self.headers = headers
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, body: bytes = b"", **headers: str
    ) -> Answer:
        """`method path` through the proxy, with this browser's cookies."""
        sent = {
            "Host": self.host,
            "X-Forwarded-Proto": "https",
            **self.headers,
            **headers,
        }
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if method not in ("GET", "HEAD"):
            sent.setdefault("Origin", self.origin)
            sent.setdefault("Referer", f"{self.origin}{path}")
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=TIMEOUT_SECONDS
        )
        try:
            connection.request(method, path, body=body or None, headers=sent)
            response = connection.getresponse()
            answer = Answer(response.status, response.headers, response.read())
        finally:
            connection.close()
        for header in answer.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return answer

    def get(self, path: str) -> Answer:
        return self.request("GET", path)

    def post_json(self, path: str, data: Any) -> Answer:
        content_type = {"Content-Type": "application/json"}
        return self.request("POST", path, json.dumps(data).encode(), **content_type)

    def post_form(self, path: str, fields: list[tuple[str, str]]) -> Answer:
        """POST url-encoded `fields` (a list: a name may repeat)."""
        body = urlencode(fields).encode()
        content_type = {"Content-Type": "application/x-www-form-urlencoded"}
        return self.request("POST", path, body, **content_type)

    def submit(
        self,
        path: str,
        filled: dict[str, str],
        repeated: tuple[tuple[str, str], ...] = (),
    ) -> Answer:
        """Open the page at `path`, fill its form with `filled` (and the
        `repeated` name-value pairs, e.g. the rows ticked in a list) and
        send it."""
        page = self.get(path)
        assert page.status == 200, f"GET {path}: {page.status}\n{page.text[:2000]}"
        form = FormFields()
        form.feed(page.text)
        assert "csrfmiddlewaretoken" in form.fields, f"no form on {path}"
        return self.post_form(path, [*{**form.fields, **filled}.items(), *repeated])
