"""The registry of named PDF reports and the shape of a report request:
what a domain app may register, and what a client's request must look like."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.utils.pdf.registry import (
    RegisteredReport,
    ReportRequest,
    ReportRequestInvalid,
    UnknownReport,
    all_reports,
    get_report,
    register_report,
    registered_reports,
    unregister_report,
)

pytestmark = pytest.mark.engine_independent

REPO = Path(__file__).resolve().parents[4]


@pytest.fixture
def registered() -> Iterator[list[str]]:
    """Names the test registers, removed after it."""
    names: list[str] = []
    yield names
    for name in names:
        unregister_report(name)


def test_the_patients_app_registers_its_summary_when_it_loads() -> None:
    report = get_report("patients.summary")

    assert report == RegisteredReport(
        "patients.summary", "patients/reports/summary.html", max_pages=20
    )
    assert report.filename == "patients-summary.pdf"
    assert "patients.summary" in registered_reports()


def test_a_server_only_report_is_listed_for_checks_but_no_client_gets_it() -> None:
    release = next(r for r in all_reports() if r.name == "patients.release")

    with pytest.raises(UnknownReport) as refused:
        ReportRequest.from_json({"report": "patients.release", "context": {}})

    assert release.template == "patients/reports/report.html"
    assert not release.requestable
    assert "patients.release" not in registered_reports()
    assert str(refused.value) == (
        "There is no report named 'patients.release'; the reports are: "
        "patients.summary."
    )


def test_registering_the_same_report_twice_is_harmless(registered: list[str]) -> None:
    registered.append("tests.twice")
    first = register_report("tests.twice", "tests/twice.html", max_pages=2)

    again = register_report("tests.twice", "tests/twice.html", max_pages=2)

    assert again is first


def test_one_name_cannot_be_taken_by_two_templates(registered: list[str]) -> None:
    registered.append("tests.taken")
    register_report("tests.taken", "tests/first.html")

    with pytest.raises(ValueError, match="already registered with template"):
        register_report("tests.taken", "tests/second.html")
    assert get_report("tests.taken").template == "tests/first.html"


@pytest.mark.parametrize(
    ("name", "template", "max_pages", "message"),
    [
        ("summary", "a.html", None, "lower-case dotted words"),
        ("Patients.Summary", "a.html", None, "lower-case dotted words"),
        ("patients.summary/../x", "a.html", None, "lower-case dotted words"),
        ("patients." + "x" * 100, "a.html", None, "at most 100 characters"),
        ("tests.bad", "", None, "needs an HTML template path"),
        ("tests.bad", "tests/a.txt", None, "needs an HTML template path"),
        ("tests.bad", "a.html", 0, "give a whole number >= 1"),
        ("tests.bad", "a.html", True, "give a whole number >= 1"),
    ],
)
def test_a_badly_formed_registration_is_refused(
    name: Any, template: str, max_pages: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        register_report(name, template, max_pages=max_pages)
    assert name not in registered_reports()


@pytest.mark.parametrize("name", ["patients.invoice", None, ["patients.summary"]])
def test_an_unknown_name_lists_the_registered_reports(name: Any) -> None:
    with pytest.raises(UnknownReport, match=r"the reports are: .*patients\.summary"):
        get_report(name)


def test_a_request_reads_back_from_its_json() -> None:
    request = ReportRequest.from_json(
        {"report": "patients.summary", "context": {"a": [1]}, "watermark": "DRAFT"}
    )

    assert request.report.name == "patients.summary"
    assert ReportRequest.from_json(request.to_json()) == request


def test_context_and_watermark_are_optional() -> None:
    request = ReportRequest.from_json({"report": "patients.summary", "context": None})

    assert (request.context, request.watermark) == ({}, None)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("patients.summary", "a report request is a JSON object"),
        ({"report": ""}, "'report' must name a report"),
        ({"report": "patients.summary", "x": 1, "y": 2}, "unknown fields x, y"),
        ({"report": "patients.summary", "context": "a"}, ".context: Send a JSON"),
        ({"report": 7}, ".report: Send text (a JSON string"),
        ({"report": "patients.summary", "watermark": "draft"}, "DRAFT, CORRECTED"),
    ],
)
def test_a_malformed_request_says_where_and_what(value: Any, message: str) -> None:
    with pytest.raises(ReportRequestInvalid) as excinfo:
        ReportRequest.from_json(value, where="batch[3]")

    assert str(excinfo.value).startswith("batch[3]")
    assert message in str(excinfo.value)


def test_starting_the_apps_does_not_load_weasyprint():
    # Every process registers reports at start-up; WeasyPrint (a second to
    # load, log lines about CSS) waits for the first render.
    script = (
        "import sys, django; django.setup(); "
        "from core.utils.pdf import registry; import core.utils.pdf; "
        "print('weasyprint' in sys.modules)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    shown = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True, text=True, check=True, env=env, cwd=REPO,
    )  # fmt: skip

    assert shown.stdout.strip() == "False"
