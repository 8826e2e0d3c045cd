"""Runs health checks side by side, each within its timeout, all within a
deadline, so one hung dependency never hangs the endpoint that asks.

Each check runs in its own daemon thread and is handed the time it has
(`min(timeout, deadline)`). A check still running at its cutoff is reported
`down` ("timed out after 2.0 s") and left to finish on its own: a thread
cannot be killed, but every client check is bounded by the timeout it was
handed, and a daemon thread never keeps the process from exiting. The
check's database connections (Django opens one per thread) are closed when
it ends.

A check's detail is for operators and may reach a monitoring system: an
exception is reported by its class name only (its message may quote a URL),
and credentials in a URL (`scheme://user:password@host`) are masked.
"""

import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.db import connections

#: Longest detail reported for one check, in characters.
MAX_DETAIL_CHARS = 300

_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.I)


class Status(StrEnum):
    """How a check, or the whole report, stands.

    `ok`: working. `degraded`: working, but past a threshold (a job backlog
    that is too old), or an optional dependency is down. `down`: failed or
    timed out.
    """

    OK = "ok"
    DEGRADED = "degraded"
    DOWN = "down"


#: A probe is handed the seconds it may take and returns its status and a
#: short detail, or raises (which reports it `down`).
Probe = Callable[[float], tuple[Status, str]]


@dataclass(frozen=True)
class Check:
    """One named check. `critical`: the report is `down` when it is."""

    name: str
    probe: Probe
    critical: bool = False


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check.

    Example: `CheckResult(name="es", status=Status.DOWN, critical=False,
    latency_ms=500.2, detail="timed out after 0.5 s")`.
    """

    name: str
    status: Status
    critical: bool
    latency_ms: float
    detail: str

    def as_dict(self) -> dict[str, Any]:
        """`{"status": "down", "critical": False, "latency_ms": 500.2,
        "detail": "timed out after 0.5 s"}`."""
        return {
            "status": str(self.status),
            "critical": self.critical,
            "latency_ms": round(self.latency_ms, 1),
            "detail": self.detail,
        }


@dataclass(frozen=True)
class HealthReport:
    """The results of one run, in the order the checks were given."""

    results: tuple[CheckResult, ...]
    duration_ms: float

    @property
    def status(self) -> Status:
        """`down` when a critical check is down; `degraded` when any other
        check is not ok; else `ok`."""
        if any(r.critical and r.status is Status.DOWN for r in self.results):
            return Status.DOWN
        if any(r.status is not Status.OK for r in self.results):
            return Status.DEGRADED
        return Status.OK

    def as_dict(self) -> dict[str, Any]:
        """The JSON body of the readiness endpoint, e.g.

            {"status": "degraded", "duration_ms": 502.4,
             "failures": [], "warnings": ["es"],
             "checks": {"database": {"status": "ok", "critical": True,
                                     "latency_ms": 1.2, "detail": "default"},
                        "es": {"status": "down", ...}}}

        `failures`: critical checks that are down; `warnings`: the other
        checks that are not ok.
        """
        failures = [
            r.name for r in self.results if r.critical and r.status is Status.DOWN
        ]
        return {
            "status": str(self.status),
            "duration_ms": round(self.duration_ms, 1),
            "failures": failures,
            "warnings": [
                r.name
                for r in self.results
                if r.status is not Status.OK and r.name not in failures
            ],
            "checks": {r.name: r.as_dict() for r in self.results},
        }


def run_checks(
    checks: Sequence[Check], *, timeout_seconds: float, deadline_seconds: float
) -> HealthReport:
    """Run `checks` concurrently; return within about
    `min(timeout_seconds, deadline_seconds)` whatever they do.

    Example: `run_checks([Check("database", probe, critical=True)],
    timeout_seconds=2, deadline_seconds=5).status` is `Status.OK`.
    """
    started = time.monotonic()
    budget = max(min(timeout_seconds, deadline_seconds), 0.0)
    futures = [_start(check, budget) for check in checks]
    results = []
    for check, future in zip(checks, futures, strict=True):
        remaining = started + budget - time.monotonic()
        try:
            results.append(future.result(timeout=max(remaining, 0.0)))
        except TimeoutError:
            results.append(
                CheckResult(
                    name=check.name,
                    status=Status.DOWN,
                    critical=check.critical,
                    latency_ms=(time.monotonic() - started) * 1000,
                    detail=f"timed out after {budget:.1f} s",
                )
            )
    return HealthReport(tuple(results), (time.monotonic() - started) * 1000)


def scrub_detail(detail: str) -> str:
    """`detail` with URL credentials masked, cut to MAX_DETAIL_CHARS.

    Example: `scrub_detail("es at http://elastic:pw@es:9200")` is
    `"es at http://***@es:9200"`.
    """
    masked = _URL_CREDENTIALS.sub(r"\g<scheme>***@", detail)
    if len(masked) > MAX_DETAIL_CHARS:
        masked = masked[: MAX_DETAIL_CHARS - 1] + "…"
    return masked


def _start(check: Check, budget: float) -> Future[CheckResult]:
    """Run `check` in a daemon thread; its result arrives in the future."""
    future: Future[CheckResult] = Future()

    def run() -> None:
        started = time.perf_counter()
        try:
            status, detail = check.probe(budget)
        except Exception as exc:  # a health check reports, it does not raise
            status, detail = Status.DOWN, type(exc).__name__
        finally:
            # Django opened this thread's connections; nobody else will close them.
            connections.close_all()
        future.set_result(
            CheckResult(
                name=check.name,
                status=status,
                critical=check.critical,
                latency_ms=(time.perf_counter() - started) * 1000,
                detail=scrub_detail(detail),
            )
        )

    threading.Thread(target=run, name=f"health-{check.name}", daemon=True).start()
    return future
