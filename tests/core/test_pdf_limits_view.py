"""POST /core/pdf/ refuses what is too big before it costs much: the
security review's 180 KB report, a report running past its own page limit,
HTML with too many elements, contexts too deep, batches holding any of
these. WeasyPrint's work is counted in the web process and in its forked
render processes (tests/pdf_render_fixtures.py). And every refusal reads
the body it was sent (within the size limit) before answering."""

import io
import json
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest
from django.test import Client
from django.test.client import ClientHandler

from tests.pdf_fixtures import (
    PDF_URL,
    Labs,
    api_key_headers,
    post_pdf,
    signed_in,
    stored_keys,
)
from tests.pdf_render_fixtures import WeasyPrintCounts

#: Where queued requests are stored (core.utils.pdf.keys).
REQUESTS = "pdf-requests"

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("limit_reports")]


@pytest.fixture
def staff(labs: Labs) -> Client:
    return signed_in("asha", labs["central"])


def reviewers_report() -> dict[str, Any]:
    """The security review's request: patients.summary (max_pages=20) with
    a 180 KB context of 5,000 short result rows."""
    rows = [{"test": f"T{n}", "result": str(n)} for n in range(5_000)]
    return {"report": "patients.summary", "context": {"results": rows}}


def test_the_reviewers_180_kb_report_is_refused_before_anything_renders(
    staff: Client, weasyprint_counts: WeasyPrintCounts
) -> None:
    body = reviewers_report()
    assert 170_000 < len(json.dumps(body)) < 200_000  # as the review sent it

    response = post_pdf(staff, body)

    # then 413 naming the limit and its setting, and WeasyPrint never started
    assert response.status_code == 413
    error = response.json()["error"]
    assert "'patients.summary' holds more than 10,000 values" in error
    assert "settings.PDF_MAX_CONTEXT_VALUES_PER_PAGE" in error
    assert "limit of 20 pages" in error
    assert weasyprint_counts.documents() == 0


def test_a_report_past_its_own_limit_is_laid_out_one_page_further_at_most(
    staff: Client, weasyprint_counts: WeasyPrintCounts
) -> None:
    # Given a report limited to 3 pages sent 60 pages of lines (within the
    # value and element caps)
    lines = [f"Line {n}" for n in range(60)]

    response = post_pdf(staff, {"report": "tests.pages", "context": {"lines": lines}})

    # then 413 for its own limit, after at most 4 pages of layout in the
    # render process
    assert response.status_code == 413
    assert "'tests.pages' has more than 3 pages" in response.json()["error"]
    assert 0 < weasyprint_counts.pages() <= 4


def test_html_with_too_many_elements_is_413_before_weasyprint_parses_it(
    staff: Client, weasyprint_counts: WeasyPrintCounts
) -> None:
    # Given a 2-page report whose 40 values make 1,600 elements (over 500 per page)
    body = {"report": "tests.grid", "context": {"rows": list(range(40))}}

    response = post_pdf(staff, body)

    assert response.status_code == 413
    error = response.json()["error"]
    assert "at most 1,000 are rendered" in error
    assert "settings.PDF_MAX_HTML_ELEMENTS_PER_PAGE" in error
    assert weasyprint_counts.documents() == 0


def test_a_context_nested_too_deeply_is_413(staff: Client, settings: Any) -> None:
    settings.PDF_MAX_CONTEXT_DEPTH = 2
    body = {"report": "tests.pages", "context": {"lines": [["nested"]]}}

    response = post_pdf(staff, body)

    assert response.status_code == 413
    assert "settings.PDF_MAX_CONTEXT_DEPTH" in response.json()["error"]


def test_a_batch_holding_a_report_over_the_caps_is_413_and_nothing_is_queued(
    staff: Client, labs: Labs, local_storage: Any
) -> None:
    small = {"report": "patients.summary", "context": {"results": []}}

    response = post_pdf(staff, {"batch": [small, reviewers_report()]})

    assert response.status_code == 413
    error = response.json()["error"]
    assert error.startswith("batch[1]: ")
    assert "settings.PDF_MAX_CONTEXT_VALUES_PER_PAGE" in error
    assert stored_keys(local_storage, labs["central"].pk, REQUESTS) == []


def test_a_body_bound_for_the_background_is_still_checked_first(
    staff: Client, labs: Labs, local_storage: Any, settings: Any
) -> None:
    # Given a body large enough to be rendered in the background
    settings.PDF_SYNC_MAX_REQUEST_BYTES = 100

    response = post_pdf(staff, reviewers_report())

    # then it is refused now, not queued to fail later
    assert response.status_code == 413
    assert stored_keys(local_storage, labs["central"].pk, REQUESTS) == []


def test_a_lab_sends_at_most_20_requests_in_a_burst(staff: Client) -> None:
    # Given the default rate limit (20 per 10 s: 2 a second, in bursts of 20)
    cheap = {"report": "patients.nope"}  # refused after the count

    answers = [post_pdf(staff, cheap).status_code for _ in range(21)]

    assert answers == [404] * 20 + [429]


# -- a refusal reads the body first -----------------------------------------------


def through_wsgi(method: str, body: bytes, **environ: str) -> tuple[int, int]:
    """(status, bytes of the body read) of one request to /core/pdf/ through
    Django's whole middleware stack, its body a stream as gunicorn gives it
    (Django's test handler, which keeps the test's database connection)."""
    stream = io.BytesIO(body)
    request = {
        "REQUEST_METHOD": method,
        "PATH_INFO": PDF_URL,
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": stream,
        **environ,
    }
    setup_testing_defaults(request)
    # (the handler closes the answer, as a WSGI server would)
    response = ClientHandler(enforce_csrf_checks=True)(request)
    return response.status_code, stream.tell()


@pytest.mark.parametrize(
    ("method", "environ", "status"),
    [("PUT", {}, 405), ("POST", {}, 401)],
    ids=["wrong method", "no lab"],
)
def test_a_refusal_before_the_view_still_reads_the_body(
    method: str, environ: dict[str, str], status: int
) -> None:
    # Given a 180 KB body (gunicorn drains only 64 KB of an unread one, then
    # stalls its worker closing the connection)
    body = json.dumps(reviewers_report()).encode()

    answered, read = through_wsgi(method, body, **environ)

    assert answered == status
    assert read == len(body)


def test_the_rate_limits_429_reads_the_body_too(labs: Labs, settings: Any) -> None:
    settings.PDF_RATE_LIMIT_PER_LAB = 1
    key = {"HTTP_X_API_KEY": api_key_headers(labs["central"])["X-API-Key"]}
    body = json.dumps(reviewers_report()).encode()
    through_wsgi("POST", body, **key)

    answered, read = through_wsgi("POST", body, **key)

    assert answered == 429
    assert read == len(body)


def test_a_body_declared_over_the_limit_is_refused_unread(settings: Any) -> None:
    settings.PDF_MAX_REQUEST_BYTES = 1_000
    body = json.dumps(reviewers_report()).encode()

    answered, read = through_wsgi("POST", body)

    assert (answered, read) == (401, 0)  # no lab: refused, and nothing read
