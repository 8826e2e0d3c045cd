"""What a report may hold and how far it is laid out (core.utils.pdf.limits,
page_limit and render_report), in this process: WeasyPrint's own work is
counted (tests/pdf_render_fixtures.py), so "stopped early" and "refused
before WeasyPrint" are measured, not assumed. Through the endpoint and its
render processes: tests/core/test_pdf_limits_view.py."""

import pickle
import threading
from typing import Any

import pytest

from admin.account.models import Lab
from core.utils.pdf.errors import (
    PdfContextTooLarge,
    PdfHtmlTooLarge,
    PdfResourceRefused,
    PdfTooManyElements,
    PdfTooManyPages,
)
from core.utils.pdf.limits import count_elements, page_limit_of
from core.utils.pdf.registered import ReportTooManyPages, render_report
from core.utils.pdf.registry import ReportRequest, get_report
from core.utils.pdf.render import html_to_pdf
from tests.pdf_render_fixtures import WeasyPrintCounts

pytestmark = [
    pytest.mark.engine_independent,
    pytest.mark.usefixtures("limit_reports"),
]

LAB = Lab(name="Central Reference Lab", language="en")


def request(name: str, **context: Any) -> ReportRequest:
    return ReportRequest.from_json({"report": name, "context": context})


# -- the page limit ---------------------------------------------------------------


def test_a_report_over_its_own_limit_is_laid_out_one_page_past_it_at_most(
    weasyprint_counts: WeasyPrintCounts,
) -> None:
    # Given a report limited to 3 pages, far below settings.PDF_MAX_PAGES,
    # and data for 60 pages
    lines = [f"Line {n}" for n in range(60)]

    # when it is rendered, then it is refused for its own limit
    with pytest.raises(ReportTooManyPages, match="has more than 3 pages") as refused:
        render_report(request("tests.pages", lines=lines), lab=LAB)

    # after laying out at most 4 pages, not 60 (nor 200)
    assert 0 < weasyprint_counts.pages() <= 4
    assert refused.value.limit == 3
    assert "max_pages=3" in str(refused.value)


def test_a_report_at_its_limit_renders_whole(
    weasyprint_counts: WeasyPrintCounts,
) -> None:
    pdf = render_report(request("tests.pages", lines=["a", "b", "c"]), lab=LAB)

    assert pdf.startswith(b"%PDF-")
    assert weasyprint_counts.pages() >= 3


def test_without_a_limit_of_its_own_the_global_one_stops_it(
    settings: Any, weasyprint_counts: WeasyPrintCounts
) -> None:
    settings.PDF_MAX_PAGES = 2

    with pytest.raises(PdfTooManyPages, match="PDF_MAX_PAGES") as refused:
        render_report(request("tests.table", rows=list(range(250))), lab=LAB)

    assert not isinstance(refused.value, ReportTooManyPages)
    assert 0 < weasyprint_counts.pages() <= 3


def test_the_global_limit_caps_a_reports_own(settings: Any) -> None:
    settings.PDF_MAX_PAGES = 2

    assert page_limit_of(get_report("tests.pages")) == 2  # its own is 3
    settings.PDF_MAX_PAGES = 200
    assert page_limit_of(get_report("tests.pages")) == 3


def test_renders_in_parallel_threads_keep_their_own_page_limits() -> None:
    # Given one thread rendering a long report with a 1-page limit while
    # another renders 3 pages within the global limit
    outcomes: dict[str, Any] = {}

    def render(name: str, max_pages: int, pages: int) -> None:
        html = "".join('<p style="break-after: page">x</p>' for _ in range(pages))
        try:
            outcomes[name] = html_to_pdf(html, max_pages=max_pages)
        except PdfTooManyPages as refused:
            outcomes[name] = refused

    threads = [
        threading.Thread(target=render, args=("short", 1, 40)),
        threading.Thread(target=render, args=("long", 200, 3)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then each was judged by its own limit
    assert isinstance(outcomes["short"], PdfTooManyPages)
    assert isinstance(outcomes["long"], bytes)


# -- what a report may hold -------------------------------------------------------


def test_a_context_with_more_values_than_its_pages_allow_is_refused_unrendered(
    settings: Any, weasyprint_counts: WeasyPrintCounts
) -> None:
    # Given 10 values per page, and a 3-page report sent 31 lines
    settings.PDF_MAX_CONTEXT_VALUES_PER_PAGE = 10

    with pytest.raises(PdfContextTooLarge) as refused:
        render_report(request("tests.pages", lines=["x"] * 31), lab=LAB)

    # then it names the limit and its setting, and WeasyPrint never saw it
    assert "more than 30 values" in str(refused.value)
    assert "settings.PDF_MAX_CONTEXT_VALUES_PER_PAGE" in str(refused.value)
    assert refused.value.setting == "PDF_MAX_CONTEXT_VALUES_PER_PAGE"
    assert weasyprint_counts.documents() == 0
    # and a context within it renders
    assert render_report(request("tests.pages", lines=["x"] * 2), lab=LAB)


def test_the_value_budget_follows_the_reports_page_limit(settings: Any) -> None:
    settings.PDF_MAX_CONTEXT_VALUES_PER_PAGE = 10
    settings.PDF_MAX_PAGES = 5
    rows = list(range(45))

    # tests.table has no limit of its own: 10 x settings.PDF_MAX_PAGES
    with pytest.raises(PdfContextTooLarge, match="more than 50 values"):
        render_report(request("tests.table", rows=rows + list(range(10))), lab=LAB)
    assert render_report(request("tests.table", rows=rows[:40]), lab=LAB)


def test_object_members_count_as_values_too(settings: Any) -> None:
    settings.PDF_MAX_CONTEXT_VALUES_PER_PAGE = 10

    members = {f"k{n}": {"a": 1} for n in range(20)}
    with pytest.raises(PdfContextTooLarge):
        render_report(request("tests.pages", lines=[], extra=members), lab=LAB)


def test_a_context_nested_too_deeply_is_refused(
    settings: Any, weasyprint_counts: WeasyPrintCounts
) -> None:
    settings.PDF_MAX_CONTEXT_DEPTH = 3
    deep: Any = "leaf"
    for _ in range(3):
        deep = [deep]

    with pytest.raises(PdfContextTooLarge, match="PDF_MAX_CONTEXT_DEPTH") as refused:
        render_report(request("tests.pages", lines=deep), lab=LAB)

    assert "more than 3 levels" in str(refused.value)
    assert weasyprint_counts.documents() == 0
    assert render_report(request("tests.pages", lines=["a"]), lab=LAB)  # depth 2


def test_html_with_more_elements_than_its_pages_allow_is_refused_unparsed(
    settings: Any, weasyprint_counts: WeasyPrintCounts
) -> None:
    # Given 100 elements per page and a 2-page report whose 15 values make
    # 225 elements
    settings.PDF_MAX_HTML_ELEMENTS_PER_PAGE = 100

    with pytest.raises(PdfTooManyElements) as refused:
        render_report(request("tests.grid", rows=list(range(15))), lab=LAB)

    message = str(refused.value)
    assert "at most 200 are rendered" in message
    assert "settings.PDF_MAX_HTML_ELEMENTS_PER_PAGE" in message
    assert refused.value.elements > 225
    assert weasyprint_counts.documents() == 0


def test_elements_are_counted_as_start_tags() -> None:
    assert count_elements("<p>a <b>b</b></p>") == 2
    assert count_elements("<!DOCTYPE html></p><br>") == 1
    assert count_elements("&lt;p&gt; 3 < 4") == 0  # escaped data never counts


# -- errors cross process boundaries ---------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        PdfResourceRefused("The report asked for http://x/, ...", url="http://x/"),
        PdfHtmlTooLarge(9_000, 5_000),
        PdfTooManyElements(1_200, per_page=500, pages=2),
        PdfContextTooLarge("too deep", setting="PDF_MAX_CONTEXT_DEPTH"),
        PdfTooManyPages(200),
        ReportTooManyPages(get_report("patients.summary")),
    ],
    ids=lambda error: type(error).__name__,
)
def test_each_pdf_error_pickles_with_its_message_and_fields(error: Exception) -> None:
    error.add_note("raised elsewhere")

    again = pickle.loads(pickle.dumps(error))  # noqa: S301 (our own bytes)

    assert type(again) is type(error)
    assert str(again) == str(error)
    assert vars(again) == vars(error)
    assert again.__notes__ == ["raised elsewhere"]
