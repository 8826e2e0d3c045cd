"""POST /core/pdf/'s synchronous renders (core.pdf_sync): render slots per
lab and in total (429 with Retry-After, shared through Redis across
processes), a forked render process at lower priority killed at the time
limit (503, its slot freed), and errors and log lines of the render process
reaching the web process's log and Sentry. Slow reports are real templates
that wait for a file the test creates (tests/pdf_template_tags.py)."""

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sentry_sdk
from django.test import Client

from core.pdf_sync import RENDER_SLOTS
from core.ratelimit.leases import acquire_lease
from core.utils.sentry.setup import init_sentry, shutdown_sentry
from tests.pdf_fixtures import SUMMARY_CONTEXT, Labs, body_of, post_pdf, signed_in
from tests.pdf_render_fixtures import in_thread, process_gone, read_probe, wait_for_file
from tests.standins.sentry import SentryStandIn

pytestmark = pytest.mark.usefixtures("limit_reports")
#: Tests with a render in flight in another thread, whose requests must see
#: the rows this test made: committed, not in the test's transaction.
concurrent = pytest.mark.django_db(transaction=True)

SUMMARY = {"report": "patients.summary", "context": SUMMARY_CONTEXT}


def slow(folder: Path) -> dict[str, Any]:
    """tests.slow, noting its process in folder/probe and waiting for folder/gate."""
    context = {"probe": str(folder / "probe"), "gate": str(folder / "gate")}
    return {"report": "tests.slow", "context": context}


@pytest.fixture
def central(labs: Labs) -> Client:
    return signed_in("asha", labs["central"])


@pytest.fixture
def central_too(labs: Labs) -> Client:
    """Another staff member of Central, in a session of their own."""
    return signed_in("ravi", labs["central"])


@pytest.fixture
def other(labs: Labs) -> Client:
    return signed_in("tom", labs["other"])


# -- render slots -----------------------------------------------------------------


@concurrent
def test_a_lab_at_its_cap_gets_429_while_another_lab_renders(
    central: Client, central_too: Client, other: Client, settings: Any, tmp_path: Path
) -> None:
    # Given one render per lab, two in all, and Central's slow render running
    settings.PDF_RENDER_SLOTS_PER_LAB, settings.PDF_RENDER_SLOTS_TOTAL = 1, 2
    running = in_thread(lambda: post_pdf(central, slow(tmp_path)))
    try:
        read_probe(tmp_path / "probe")

        # when Central asks for another and another lab asks for one
        busy = post_pdf(central_too, SUMMARY)
        elsewhere = post_pdf(other, SUMMARY)
    finally:
        (tmp_path / "gate").touch()

    # then Central is told to come back, the other lab gets its PDF
    assert busy.status_code == 429
    assert busy["Retry-After"] == "2"
    assert "settings.PDF_RENDER_SLOTS_PER_LAB" in busy.json()["error"]
    assert elsewhere.status_code == 200
    assert body_of(elsewhere).startswith(b"%PDF-")
    # and the slow one finishes, after which Central renders again
    assert running.result(timeout=60).status_code == 200
    assert post_pdf(central_too, SUMMARY).status_code == 200


@concurrent
def test_past_the_servers_total_every_lab_gets_429(
    central: Client, other: Client, settings: Any, tmp_path: Path
) -> None:
    settings.PDF_RENDER_SLOTS_PER_LAB, settings.PDF_RENDER_SLOTS_TOTAL = 1, 1
    running = in_thread(lambda: post_pdf(central, slow(tmp_path)))
    try:
        read_probe(tmp_path / "probe")
        busy = post_pdf(other, SUMMARY)
    finally:
        (tmp_path / "gate").touch()

    assert busy.status_code == 429
    assert "settings.PDF_RENDER_SLOTS_TOTAL" in busy.json()["error"]
    assert running.result(timeout=60).status_code == 200


@pytest.mark.django_db
@pytest.mark.filterwarnings(  # the forked "worker" uses only Redis, its own connection
    "ignore:This process .* is multi-threaded, use of fork:DeprecationWarning"
)
def test_on_redis_a_slot_held_by_another_process_counts(
    on_redis: Any, labs: Labs, central: Client, settings: Any, tmp_path: Path
) -> None:
    # Given another process (another web worker) rendering for Central
    settings.PDF_RENDER_SLOTS_PER_LAB = 1
    held, gate = tmp_path / "held", tmp_path / "gate"
    worker = os.fork()
    if worker == 0:
        try:  # (a forked process starts with its own Redis connections)
            lease = acquire_lease(RENDER_SLOTS, f"lab:{labs['central'].pk}",
                                  per_owner=1, total=4, ttl_seconds=60)  # fmt: skip
            held.touch()
            wait_for_file(gate, seconds=60)
            lease.release()
        finally:
            os._exit(0)
    wait_for_file(held)
    try:
        # when Central asks here, then it is over its cap
        busy = post_pdf(central, SUMMARY)
    finally:
        gate.touch()
        os.waitpid(worker, 0)

    assert busy.status_code == 429
    assert post_pdf(central, SUMMARY).status_code == 200  # released there


# -- the render process -----------------------------------------------------------


@pytest.mark.django_db
def test_a_render_runs_in_another_process_at_lower_priority(
    central: Client, settings: Any, tmp_path: Path
) -> None:
    settings.PDF_RENDER_NICE = 7
    (tmp_path / "gate").touch()

    response = post_pdf(central, slow(tmp_path))

    assert response.status_code == 200
    probe = read_probe(tmp_path / "probe")
    assert probe["pid"] != os.getpid()
    assert probe["nice"] == os.nice(0) + 7
    assert probe["policy"] == os.SCHED_IDLE  # settings.PDF_RENDER_SCHED_IDLE


@pytest.mark.django_db
def test_without_sched_idle_a_render_competes_at_its_niceness(
    central: Client, settings: Any, tmp_path: Path
) -> None:
    settings.PDF_RENDER_SCHED_IDLE = False
    (tmp_path / "gate").touch()

    assert post_pdf(central, slow(tmp_path)).status_code == 200

    probe = read_probe(tmp_path / "probe")
    assert probe["policy"] == os.sched_getscheduler(0)
    assert probe["nice"] == os.nice(0) + settings.PDF_RENDER_NICE


@pytest.mark.django_db
def test_a_render_past_the_time_limit_is_stopped_with_503_and_frees_its_slot(
    central: Client, settings: Any, tmp_path: Path
) -> None:
    # Given a 1-second limit, one slot, and a report that waits forever
    settings.PDF_RENDER_TIME_LIMIT_SECONDS = 1
    settings.PDF_RENDER_SLOTS_PER_LAB = 1

    response = post_pdf(central, slow(tmp_path))

    # then 503 saying why, its process is gone, and the slot is free again
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    error = response.json()["error"]
    assert "longer than 1 seconds" in error
    assert "settings.PDF_RENDER_TIME_LIMIT_SECONDS" in error
    assert process_gone(read_probe(tmp_path / "probe")["pid"])
    assert post_pdf(central, SUMMARY).status_code == 200


@pytest.mark.django_db
def test_weasyprint_working_past_the_time_limit_is_stopped_too(
    central: Client, settings: Any
) -> None:
    # Given a 1-second limit and a long table (within every size limit)
    # that takes WeasyPrint several seconds
    settings.PDF_RENDER_TIME_LIMIT_SECONDS = 1
    body = {"report": "tests.table", "context": {"rows": list(range(4_000))}}

    response = post_pdf(central, body)

    assert response.status_code == 503


@pytest.mark.django_db
def test_a_crash_in_the_render_is_a_500_logged_with_its_traceback(
    central: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="core.middleware.api_errors"):
        response = post_pdf(central, {"report": "tests.broken"})

    request_id = response["X-Request-ID"]
    assert response.status_code == 500
    assert response.json()["request_id"] == request_id
    assert "deliberate" not in response.content.decode()
    [record] = [r for r in caplog.records if r.name == "core.middleware.api_errors"]
    assert record.getMessage() == "Unhandled RuntimeError in POST /core/pdf/"
    error = record.exc_info[1] if record.exc_info else None
    assert isinstance(error, RuntimeError)
    assert str(error) == "deliberate failure"
    [note] = error.__notes__
    assert "Raised in forked process" in note and "in fail" in note


@pytest.fixture
def sentry(settings: Any) -> Iterator[SentryStandIn]:
    with SentryStandIn() as standin:
        settings.SENTRY_DSN = standin.dsn
        init_sentry()
        try:
            yield standin
        finally:
            shutdown_sentry()


@pytest.mark.django_db
def test_a_crash_in_the_render_reaches_sentry_once_with_its_request_id(
    central: Client, sentry: SentryStandIn
) -> None:
    response = post_pdf(central, {"report": "tests.broken"})
    sentry_sdk.flush()

    assert response.status_code == 500
    assert sentry.wait_for_events(1)
    [event] = sentry.events
    assert event["tags"]["request_id"] == response["X-Request-ID"]
    [error] = event["exception"]["values"][-1:]
    assert error["type"] == "RuntimeError"
    assert "Raised in forked process" in error["value"]
    assert sentry.problems == []


@pytest.mark.django_db
def test_weasyprints_warnings_in_the_render_are_logged_by_the_web_process(
    central: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        response = post_pdf(central, {"report": "tests.bad_css"})

    assert response.status_code == 200
    [record] = [r for r in caplog.records if "colour" in r.getMessage()]
    assert record.name == "weasyprint" and record.levelno == logging.WARNING
    assert record.process != os.getpid()  # made in the render process
