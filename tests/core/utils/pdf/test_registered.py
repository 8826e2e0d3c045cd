"""Registered reports rendered: on the lab's letterhead (or none), and
within the report's own page limit."""

from collections.abc import Iterator
from typing import Any

import pytest

from core.utils.pdf import PdfTooManyPages
from core.utils.pdf.registered import ReportTooManyPages, render_report
from core.utils.pdf.registry import ReportRequest, register_report, unregister_report
from tests.pdf_fixtures import Labs, page_texts

PAGES_TEMPLATE = (
    '{% extends "core/pdf/base_report.html" %}{% block content %}'
    '{% for line in data.lines %}<p style="break-after: page">{{ line }}</p>'
    "{% endfor %}{% endblock %}"
)


@pytest.fixture
def two_page_limit(settings: Any) -> Iterator[None]:
    """A test report, "tests.pages", of one page per line, limited to two."""
    settings.TEMPLATES = [
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "OPTIONS": {
                "loaders": [
                    (
                        "django.template.loaders.locmem.Loader",
                        {"tests/pages.html": PAGES_TEMPLATE},
                    ),
                    "django.template.loaders.app_directories.Loader",
                ],
            },
        }
    ]
    register_report("tests.pages", "tests/pages.html", max_pages=2)
    yield
    unregister_report("tests.pages")


def pages_request(*lines: str) -> ReportRequest:
    return ReportRequest.from_json(
        {"report": "tests.pages", "context": {"lines": lines}}
    )


def test_a_report_prints_its_data_on_the_labs_letterhead(labs: Labs) -> None:
    request = ReportRequest.from_json(
        {"report": "patients.summary", "context": {"patient": {"name": "Asha Rao"}}}
    )

    with_lab = page_texts(render_report(request, lab=labs["south"]))[0]
    without = page_texts(render_report(request, lab=None))[0]

    assert "South" in with_lab and "Asha Rao" in with_lab
    assert "South" not in without and "Asha Rao" in without


@pytest.mark.engine_independent
def test_a_report_longer_than_its_own_limit_is_refused(two_page_limit: None) -> None:
    assert len(page_texts(render_report(pages_request("a", "b"), lab=None))) == 2

    with pytest.raises(ReportTooManyPages) as excinfo:
        render_report(pages_request("a", "b", "c"), lab=None)

    # (layout stopped at page 3: how many more there were is not known)
    assert isinstance(excinfo.value, PdfTooManyPages)
    assert (excinfo.value.limit, excinfo.value.pages) == (2, None)
    assert str(excinfo.value).startswith(
        "Report 'tests.pages' has more than 2 pages; it is limited to 2 "
        "(register_report(..., max_pages=2))."
    )
