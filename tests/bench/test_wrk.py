"""bench/wrk: finding wrk, running it with status.lua, reading its output."""

import os
import stat
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bench.wrk import (
    MISSING_WRK_EXIT_STATUS,
    WRK_INSTALL_COMMAND,
    WrkResult,
    parse_wrk_output,
    require_wrk,
    run_wrk,
)

pytestmark = pytest.mark.engine_independent

#: wrk 4.1.0's output, as printed with --latency and status.lua.
WRK_OUTPUT = """\
Running 1s test @ http://127.0.0.1:8765/patients/1/
  1 threads and 2 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     0.93ms  468.78us   5.71ms   79.85%
    Req/Sec     2.12k   101.67     2.27k    72.73%
  Latency Distribution
     50%    0.87ms
     75%    1.10ms
     90%    1.38ms
     99%    2.81ms
  2321 requests in 1.10s, 1.15MB read
Requests/sec:   2111.98
Transfer/sec:      1.05MB
STATUS {"200": 2321}
"""


def test_the_figures_are_read_from_wrks_output() -> None:
    result = parse_wrk_output(WRK_OUTPUT)

    assert result == WrkResult(
        rps=2111.98, p99_ms=2.81, statuses={200: 2321}, socket_errors=0
    )
    assert result.problem() is None


@pytest.mark.parametrize(
    ("line", "expected_ms"),
    [("     99%  812.00us", 0.812), ("     99%    1.20s ", 1200.0)],
)
def test_latency_in_microseconds_or_seconds_is_read_as_milliseconds(
    line: str, expected_ms: float
) -> None:
    output = WRK_OUTPUT.replace("     99%    2.81ms", line)

    assert parse_wrk_output(output).p99_ms == pytest.approx(expected_ms)


def test_refusals_and_socket_errors_are_reported_as_problems() -> None:
    output = WRK_OUTPUT.replace(
        'STATUS {"200": 2321}',
        "  Socket errors: connect 0, read 3, write 0, timeout 2\n"
        'STATUS {"200": 2000, "401": 321}',
    )

    result = parse_wrk_output(output)

    assert result.statuses == {200: 2000, 401: 321}
    assert result.socket_errors == 5
    assert result.problem() == "321 answers with status 401; 5 socket errors"


def test_a_run_without_any_200_is_a_problem() -> None:
    result = WrkResult(rps=0.0, p99_ms=0.0, statuses={}, socket_errors=0)

    assert result.problem() == "no answer with status 200"


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        ("Requests/sec:   2111.98\n", "Requests/sec"),
        ("     99%    2.81ms\n", "99% latency"),
        ('STATUS {"200": 2321}\n', "STATUS line"),
    ],
)
def test_output_without_a_figure_is_refused_naming_it(missing: str, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        parse_wrk_output(WRK_OUTPUT.replace(missing, ""))


def test_without_wrk_the_install_command_is_printed_and_the_exit_status_is_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(SystemExit) as exited:
        require_wrk()

    assert exited.value.code == MISSING_WRK_EXIT_STATUS == 2
    assert WRK_INSTALL_COMMAND in capsys.readouterr().err


def test_wrk_on_the_path_is_found(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    wrk = tmp_path / "wrk"
    wrk.write_text("#!/bin/sh\n")
    wrk.chmod(wrk.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")

    assert require_wrk() == str(wrk)


#: The Cookie header the local server takes as signed in.
SESSION_COOKIE = "sessionid=k3j9; csrftoken=Xq9"


class _Answers(BaseHTTPRequestHandler):
    """200 on /live/ or with SESSION_COOKIE, 401 otherwise; keep-alive, as
    wrk expects."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        signed_in = self.headers.get("Cookie") == SESSION_COOKIE
        status = 200 if self.path == "/live/" or signed_in else 401
        body = b'{"status": "ok"}' if status == 200 else b'{"error": "sign in"}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: no line per request on stderr."""


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        """Quiet: wrk drops its connections mid-request when its time is up."""


@pytest.fixture
def server() -> Iterator[str]:
    """A local HTTP server on a free port; its base URL."""
    httpd = _Server(("127.0.0.1", 0), _Answers)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_a_real_run_counts_every_answer_by_status(server: str) -> None:
    wrk = require_wrk()

    live = run_wrk(wrk, f"{server}/live/", seconds=1, connections=2)
    refused = run_wrk(wrk, f"{server}/patients/1/", seconds=1, connections=2)

    assert live.rps > 0 and live.p99_ms > 0
    assert set(live.statuses) == {200}
    assert live.problem() is None
    assert set(refused.statuses) == {401}
    assert refused.problem() == (
        f"{refused.statuses[401]} answers with status 401; no answer with status 200"
    )


def test_the_cookie_is_sent_with_every_request(server: str) -> None:
    signed_in = run_wrk(
        require_wrk(),
        f"{server}/patients/1/",
        seconds=1,
        connections=2,
        cookie=SESSION_COOKIE,
    )

    assert set(signed_in.statuses) == {200}
    assert signed_in.statuses[200] > 0


def test_a_failed_wrk_run_says_which_url() -> None:
    with pytest.raises(RuntimeError, match="not-a-url"):
        run_wrk(require_wrk(), "not-a-url", seconds=1, connections=1)
