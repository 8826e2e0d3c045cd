"""wrk, the HTTP load generator of bench/bench_http.py: finding it, running
it with status.lua (answers counted by status) and reading its output.

wrk is a system package (`apt-get install -y wrk`), not a Python one; the
benchmark checks for it and never installs it itself.
"""

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

WRK_INSTALL_COMMAND = "apt-get install -y wrk"
#: The wrk script that counts answers by status and prints them (STATUS line).
STATUS_SCRIPT = Path(__file__).resolve().parent / "status.lua"
#: Exit status of a benchmark run without wrk installed.
MISSING_WRK_EXIT_STATUS = 2

_LATENCY_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
_RPS_LINE = re.compile(r"^Requests/sec:\s+([\d.]+)\s*$", re.MULTILINE)
_P99_LINE = re.compile(r"^\s+99(?:\.0+)?%\s+([\d.]+)(us|ms|s|m)\s*$", re.MULTILINE)
_STATUS_LINE = re.compile(r"^STATUS (\{.*\})\s*$", re.MULTILINE)
_SOCKET_ERRORS_LINE = re.compile(r"^\s*Socket errors: (.*)$", re.MULTILINE)


@dataclass(frozen=True)
class WrkResult:
    """One wrk run: requests per second, p99 latency, answers by status,
    and socket errors (connect, read, write, timeout, added up).

    Example: `WrkResult(rps=1830.5, p99_ms=9.8, statuses={200: 18321},
    socket_errors=0)`.
    """

    rps: float
    p99_ms: float
    statuses: dict[int, int]
    socket_errors: int

    def problem(self) -> str | None:
        """What was wrong with the answers (statuses other than 200, socket
        errors, no answer at all), or None when every answer was a 200.

        Example: `"412 answers with status 401"`.
        """
        problems = [
            f"{count} answers with status {status}"
            for status, count in sorted(self.statuses.items())
            if status != 200
        ]
        if self.socket_errors:
            problems.append(f"{self.socket_errors} socket errors")
        if not self.statuses.get(200):
            problems.append("no answer with status 200")
        return "; ".join(problems) or None


def parse_wrk_output(output: str) -> WrkResult:
    """The figures of wrk's text output (run with `--latency` and
    status.lua): "Requests/sec:", the 99% line of the latency distribution,
    the "Socket errors:" line when there is one, and status.lua's STATUS line.
    Raises ValueError naming the line that is missing."""
    rps = _RPS_LINE.search(output)
    p99 = _P99_LINE.search(output)
    status = _STATUS_LINE.search(output)
    if rps is None:
        raise ValueError(f"wrk's output has no Requests/sec line:\n{output}")
    if p99 is None:
        raise ValueError(f"wrk's output has no 99% latency (use --latency):\n{output}")
    if status is None:
        raise ValueError(
            f"wrk's output has no STATUS line (use -s status.lua):\n{output}"
        )
    errors = _SOCKET_ERRORS_LINE.search(output)
    counts = json.loads(status.group(1))
    return WrkResult(
        rps=float(rps.group(1)),
        p99_ms=float(p99.group(1)) * _LATENCY_UNITS_MS[p99.group(2)],
        statuses={int(code): count for code, count in counts.items()},
        socket_errors=sum(map(int, re.findall(r"\d+", errors.group(1))))
        if errors
        else 0,
    )


def require_wrk() -> str:
    """wrk's path; without wrk, print how to install it and exit with
    MISSING_WRK_EXIT_STATUS."""
    found = shutil.which("wrk")
    if found is None:
        print(
            f"wrk is not installed; install it with: {WRK_INSTALL_COMMAND}",
            file=sys.stderr,
        )
        raise SystemExit(MISSING_WRK_EXIT_STATUS)
    return found


def run_wrk(
    wrk: str,
    url: str,
    *,
    seconds: int,
    connections: int,
    threads: int = 1,
    cookie: str = "",
    timeout_seconds: int | None = None,
    prefix: Sequence[str] = (),
) -> WrkResult:
    """Load `url` for `seconds` over `connections` connections from
    `threads` threads, with the Cookie header `cookie` on every request
    unless it is ""; wrk's figures. `timeout_seconds`: wrk's --timeout (2 s
    by default; a slower answer is a socket error, left out of the
    latencies). `prefix` goes before wrk's command line (a pinning's
    `taskset -c ...`). Raises RuntimeError if wrk fails."""
    command = [*prefix, wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s"]
    if timeout_seconds is not None:
        command.append(f"--timeout={timeout_seconds}s")
    command += ["--latency", "-s", str(STATUS_SCRIPT)]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    finished = subprocess.run(  # noqa: S603 (our own command line)
        [*command, url], capture_output=True, text=True, check=False
    )
    if finished.returncode != 0:
        raise RuntimeError(
            f"wrk exited with {finished.returncode} on {url}: {finished.stderr}"
        )
    return parse_wrk_output(finished.stdout)
