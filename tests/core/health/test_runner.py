"""The health check runner: checks side by side, each cut off at its timeout,
all at the deadline; statuses combined by criticality; details that carry
no secrets. The probes here are the tests' own callables: hanging ones
block on an Event the test releases afterwards."""

import threading
import time
from collections.abc import Iterator

import pytest
from django.db import DEFAULT_DB_ALIAS, connections

from core.health import (
    Check,
    CheckResult,
    HealthReport,
    Probe,
    Status,
    run_checks,
    scrub_detail,
)
from core.health.runner import MAX_DETAIL_CHARS

#: A hung probe is released after this at the latest; a run that waited for
#: it would take at least this long.
HANG_SECONDS = 10.0


def answers(status: Status, detail: str = "") -> Probe:
    def probe(timeout: float) -> tuple[Status, str]:
        return status, detail

    return probe


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Set at the end of the test, so hung probes finish."""
    event = threading.Event()
    yield event
    event.set()


def hangs(release: threading.Event) -> Probe:
    def probe(timeout: float) -> tuple[Status, str]:
        release.wait(HANG_SECONDS)
        return Status.OK, "answered late"

    return probe


def test_every_check_is_reported_in_order_with_its_latency() -> None:
    checks = [
        Check("database", answers(Status.OK, "default"), critical=True),
        Check("cache", answers(Status.OK, "redis, breaker closed")),
    ]

    report = run_checks(checks, timeout_seconds=2, deadline_seconds=5)

    assert report.status is Status.OK
    assert [(r.name, r.status, r.critical, r.detail) for r in report.results] == [
        ("database", Status.OK, True, "default"),
        ("cache", Status.OK, False, "redis, breaker closed"),
    ]
    assert all(r.latency_ms >= 0 for r in report.results)


def test_the_probe_is_handed_the_time_it_may_take() -> None:
    handed: list[float] = []

    def probe(timeout: float) -> tuple[Status, str]:
        handed.append(timeout)
        return Status.OK, ""

    run_checks([Check("es", probe)], timeout_seconds=2, deadline_seconds=5)
    run_checks([Check("es", probe)], timeout_seconds=3, deadline_seconds=0.5)

    assert handed == [2, 0.5]


def test_checks_run_side_by_side() -> None:
    # Given three probes that each take 0.3 s
    def slow(timeout: float) -> tuple[Status, str]:
        time.sleep(0.3)
        return Status.OK, ""

    # When they run
    started = time.monotonic()
    report = run_checks(
        [Check(name, slow) for name in "abc"], timeout_seconds=2, deadline_seconds=5
    )

    # Then all finish in about the time of one, not of three in a row
    assert report.status is Status.OK
    assert time.monotonic() - started < 0.8


def test_a_hung_check_is_cut_off_at_its_timeout(release: threading.Event) -> None:
    started = time.monotonic()

    report = run_checks(
        [
            Check("database", answers(Status.OK), critical=True),
            Check("es", hangs(release)),
        ],
        timeout_seconds=0.3,
        deadline_seconds=5,
    )

    assert time.monotonic() - started < 3  # the probe would hang 10 s
    database, es = report.results
    assert database.status is Status.OK
    assert (es.status, es.detail) == (Status.DOWN, "timed out after 0.3 s")
    assert es.latency_ms >= 300
    assert report.status is Status.DEGRADED  # es is optional


def test_the_deadline_bounds_the_run_when_it_is_shorter_than_the_timeout(
    release: threading.Event,
) -> None:
    started = time.monotonic()

    report = run_checks(
        [Check("es", hangs(release))], timeout_seconds=30, deadline_seconds=0.3
    )

    assert time.monotonic() - started < 3
    assert report.results[0].detail == "timed out after 0.3 s"


def test_a_failing_probe_is_down_with_the_class_name_only() -> None:
    def probe(timeout: float) -> tuple[Status, str]:
        raise ConnectionError("cannot reach http://elastic:pa55-never-shown@es:9200")

    report = run_checks([Check("es", probe)], timeout_seconds=1, deadline_seconds=1)

    assert (report.results[0].status, report.results[0].detail) == (
        Status.DOWN,
        "ConnectionError",
    )
    assert "pa55-never-shown" not in str(report.as_dict())


@pytest.mark.parametrize(
    ("critical_status", "optional_status", "overall"),
    [
        (Status.OK, Status.OK, Status.OK),
        (Status.OK, Status.DEGRADED, Status.DEGRADED),
        (Status.OK, Status.DOWN, Status.DEGRADED),
        (Status.DEGRADED, Status.OK, Status.DEGRADED),
        (Status.DOWN, Status.OK, Status.DOWN),
        (Status.DOWN, Status.DOWN, Status.DOWN),
    ],
)
def test_only_a_critical_check_down_makes_the_report_down(
    critical_status: Status, optional_status: Status, overall: Status
) -> None:
    report = run_checks(
        [
            Check("database", answers(critical_status), critical=True),
            Check("cache", answers(optional_status)),
        ],
        timeout_seconds=1,
        deadline_seconds=1,
    )

    assert report.status is overall


def result(name: str, status: Status, critical: bool = False) -> CheckResult:
    return CheckResult(name, status, critical, latency_ms=1.26, detail=f"{name} said")


def test_the_json_names_failures_and_warnings() -> None:
    report = HealthReport(
        results=(
            result("database", Status.DOWN, critical=True),
            result("cache", Status.DOWN),
            result("job_backlog", Status.DEGRADED),
            result("s3", Status.OK),
        ),
        duration_ms=12.345,
    )

    body = report.as_dict()

    assert body["status"] == "down"
    assert body["duration_ms"] == 12.3
    assert body["failures"] == ["database"]
    assert body["warnings"] == ["cache", "job_backlog"]
    assert list(body["checks"]) == ["database", "cache", "job_backlog", "s3"]
    assert body["checks"]["cache"] == {
        "status": "down",
        "critical": False,
        "latency_ms": 1.3,
        "detail": "cache said",
    }


def test_credentials_in_a_detail_are_masked_and_long_details_cut() -> None:
    assert (
        scrub_detail("primary http://elastic:pa55@es:9200, replica HTTPS://u:p@es2/")
        == "primary http://***@es:9200, replica HTTPS://***@es2/"
    )
    assert scrub_detail("mongodb://app:pw@db:27017/lis") == "mongodb://***@db:27017/lis"
    assert scrub_detail("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    long = scrub_detail("x" * 1000)
    assert len(long) == MAX_DETAIL_CHARS
    assert long.endswith("…")


def test_a_probe_s_details_are_scrubbed_too() -> None:
    report = run_checks(
        [Check("es", answers(Status.OK, "via http://elastic:pa55-never-shown@es"))],
        timeout_seconds=1,
        deadline_seconds=1,
    )

    assert report.results[0].detail == "via http://***@es"


@pytest.mark.django_db
def test_a_check_s_database_connection_is_closed_when_it_ends() -> None:
    # Given a probe that uses the database in its thread
    used = []

    def probe(timeout: float) -> tuple[Status, str]:
        thread_connection = connections[DEFAULT_DB_ALIAS]
        thread_connection.ensure_connection()
        used.append(thread_connection)
        return Status.OK, ""

    # When it has run
    report = run_checks(
        [Check("database", probe)], timeout_seconds=5, deadline_seconds=5
    )

    # Then that thread's connection was closed, not left open
    assert report.status is Status.OK
    [thread_connection] = used
    assert thread_connection is not connections[DEFAULT_DB_ALIAS]  # the test's
    assert thread_connection.connection is None
