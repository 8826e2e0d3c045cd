"""POST /core/pdf/ through Django's test client: a registered report rendered
and streamed (read back with pypdf), stored PDFs merged (on local files and
on moto's S3 server), batches queued and run by the Fusion worker into a
stored PDF announced over the Pusher stand-in, and every refusal a lab
really meets: unknown reports, malformed JSON, limits, storage outages,
rate limits. Attacks on isolation: test_isolation_pdf.py."""

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.tasks import TaskResultStatus
from django.test import Client
from django_tasks_db.models import DBTaskResult

from core.models import LabTranslation
from core.utils.pdf.keys import request_key
from core.utils.pdf.registry import register_report, unregister_report
from tests.pdf_fixtures import (
    SUMMARY_CONTEXT,
    Labs,
    api_key_headers,
    body_of,
    page_texts,
    post_pdf,
    s3_down,
    signed_in,
    store_pdf,
    stored_keys,
)
from tests.standins.pusher import PusherStandIn

pytestmark = pytest.mark.django_db

#: Test reports: one that loads an image from its data, one limited to a page.
TEST_TEMPLATES = {
    "tests/pdf/with_image.html": (
        '{% extends "core/pdf/base_report.html" %}{% block content %}'
        '<p>Logo</p><img src="{{ data.logo_url }}">{% endblock %}'
    ),
    "tests/pdf/one_page.html": (
        '{% extends "core/pdf/base_report.html" %}{% block content %}'
        '{% for line in data.lines %}<p style="break-after: page">{{ line }}</p>'
        "{% endfor %}{% endblock %}"
    ),
}


@pytest.fixture
def test_reports(settings: Any) -> Iterator[None]:
    """Two test-only reports, registered for the test and removed after."""
    settings.TEMPLATES = [
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "OPTIONS": {
                "loaders": [
                    ("django.template.loaders.locmem.Loader", TEST_TEMPLATES),
                    "django.template.loaders.app_directories.Loader",
                ],
            },
        }
    ]
    register_report("tests.with_image", "tests/pdf/with_image.html")
    register_report("tests.one_page", "tests/pdf/one_page.html", max_pages=1)
    yield
    unregister_report("tests.with_image")
    unregister_report("tests.one_page")


@pytest.fixture
def staff(labs: Labs) -> Client:
    """Lab staff of Central, signed in."""
    return signed_in("asha", labs["central"])


def summary(**fields: Any) -> dict[str, Any]:
    return {"report": "patients.summary", "context": SUMMARY_CONTEXT, **fields}


# -- rendering ------------------------------------------------------------------


def test_a_report_is_rendered_on_the_labs_letterhead_and_streamed(
    staff: Client,
) -> None:
    response = post_pdf(staff, summary(watermark="DRAFT"))

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'inline; filename="patients-summary.pdf"'
    assert response["Cache-Control"] == "private, no-store"
    [page] = page_texts(body_of(response))
    for text in ("Central", "Asha Rao", "P-1042", "Haemoglobin", "13.2", "DRAFT"):
        assert text in page


def test_a_report_prints_its_labs_own_wording(staff: Client, labs: Labs) -> None:
    # given Central's own word for "Result" (read before the render forks)
    LabTranslation(
        lab=labs["central"], key="report.result", language="en", text="Finding"
    ).save()

    response = post_pdf(staff, summary())

    [page] = page_texts(body_of(response))
    assert "Finding" in page and "Result" not in page


def test_context_values_print_as_text_never_as_markup(staff: Client) -> None:
    # given a name that a browser would take for markup and an image fetch
    context = {"patient": {"name": '<b>Asha</b><img src="http://example.com/x">'}}

    response = post_pdf(staff, {"report": "patients.summary", "context": context})

    # then it is printed as typed, and nothing was fetched (no refusal)
    assert response.status_code == 200
    assert (
        '<b>Asha</b><img src="http://example.com/x">'
        in page_texts(body_of(response))[0]
    )


def test_an_api_key_renders_for_its_lab(labs: Labs, client: Client) -> None:
    response = post_pdf(client, summary(), **api_key_headers(labs["north"]))

    assert response.status_code == 200
    assert "North" in page_texts(body_of(response))[0]


def test_an_unknown_report_is_404_naming_the_reports(staff: Client) -> None:
    response = post_pdf(staff, {"report": "patients.invoice", "context": {}})

    assert response.status_code == 404
    error = response.json()["error"]
    assert "no report named 'patients.invoice'" in error
    assert "patients.summary" in error


def test_only_post_is_allowed(staff: Client) -> None:
    response = staff.get("/core/pdf/")

    assert response.status_code == 405
    assert response["Allow"] == "POST"


# -- malformed requests ------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"report": "patients.summary",', "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"a":' * 10_000 + b"1" + b"}" * 10_000, "nested more than 32 levels"),
        ({}, "Send exactly one of report, merge, batch"),
        ({"report": "patients.summary", "merge": []}, "it has report and merge"),
        ({"report": ""}, "'report' must name a report"),
        ({"report": "patients.summary", "watermark": "VERIFIED"}, "'watermark' must"),
        ({"report": "patients.summary", "colour": "red"}, "unknown fields colour"),
        ({"merge": []}, "'merge' must be a non-empty list"),
        ({"merge": ["labs/1/reports/a.pdf"], "watermark": "DRAFT"}, "remove watermark"),
        ({"batch": []}, "'batch' must be a non-empty list"),
    ],
)
def test_a_malformed_request_is_400_saying_what_is_wrong(
    staff: Client, body: Any, message: str
) -> None:
    response = post_pdf(staff, body)

    assert response.status_code == 400
    assert message in response.json()["error"]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"report": 7}, "report", "Send text (a JSON string"),
        ({"report": "patients.summary", "context": [1]}, "context", "JSON object"),
        ({"merge": "labs/1/reports/a.pdf"}, "merge", "Send a JSON list"),
        ({"merge": ["labs/1/reports/a.pdf", 7]}, "merge[1]", "Send text"),
        ({"batch": ["patients.summary"]}, "batch[0]", "Send a JSON object"),
        (
            {"batch": [{"report": "patients.summary", "context": 3}]},
            "batch[0].context",
            "Send a JSON object",
        ),
        ({"report": "patients.summary", "context": {"n": 1e400}}, "context.n", "1e400"),
    ],
)
def test_a_value_of_the_wrong_type_is_400_naming_its_field(
    staff: Client, body: Any, field: str, message: str
) -> None:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()

    response = post_pdf(staff, data.replace(b"Infinity", b"1e400"))

    assert response.status_code == 400
    [said] = response.json()["fields"][field]
    assert message in said


def test_an_unknown_report_in_a_batch_is_404(staff: Client, local_storage: Any) -> None:
    response = post_pdf(staff, {"batch": [summary(), {"report": "patients.nope"}]})

    assert response.status_code == 404
    assert "patients.nope" in response.json()["error"]


# -- limits -------------------------------------------------------------------------


def test_a_body_over_the_limit_is_413_before_it_is_parsed(
    staff: Client, settings: Any
) -> None:
    settings.PDF_MAX_REQUEST_BYTES = 1_000

    # not even JSON: had it been parsed, this would be a 400
    response = post_pdf(staff, b"x" * 1_001)

    assert response.status_code == 413
    assert "1,001 bytes; at most 1,000" in response.json()["error"]
    assert post_pdf(staff, b"x" * 1_000).status_code == 400


def test_too_many_files_to_merge_is_413(
    staff: Client, labs: Labs, settings: Any
) -> None:
    settings.PDF_MAX_MERGE_FILES = 2
    keys = [f"labs/{labs['central'].pk}/reports/{n}.pdf" for n in range(3)]

    response = post_pdf(staff, {"merge": keys})

    assert response.status_code == 413
    assert "at most 2 files" in response.json()["error"]


def test_a_batch_over_the_limit_is_413(staff: Client, settings: Any) -> None:
    settings.PDF_MAX_BATCH_REPORTS = 2

    response = post_pdf(staff, {"batch": [summary()] * 3})

    assert response.status_code == 413
    assert "The batch has 3 reports; at most 2" in response.json()["error"]


def test_html_over_the_renderers_limit_is_413_with_the_reason(
    staff: Client, settings: Any
) -> None:
    settings.PDF_MAX_HTML_BYTES = 500

    response = post_pdf(staff, summary())

    assert response.status_code == 413
    assert "PDF_MAX_HTML_BYTES" in response.json()["error"]


def test_more_pages_than_the_renderer_allows_is_413(
    staff: Client, settings: Any
) -> None:
    settings.PDF_MAX_PAGES = 1
    # two pages of rows (each test name wraps to two lines), within the
    # element cap of one page
    name = "Glycated haemoglobin, high-performance liquid chromatography " * 2
    rows = [{"test": f"{name}{n}", "result": str(n)} for n in range(40)]
    context = {**SUMMARY_CONTEXT, "results": rows}

    response = post_pdf(staff, {"report": "patients.summary", "context": context})

    assert response.status_code == 413
    assert "at most 1 are rendered" in response.json()["error"]


def test_more_pages_than_the_report_allows_is_413(
    staff: Client, test_reports: None
) -> None:
    context = {"lines": ["first", "second"]}

    response = post_pdf(staff, {"report": "tests.one_page", "context": context})

    assert response.status_code == 413
    assert (
        "'tests.one_page' has more than 1 page; it is limited to 1"
        in response.json()["error"]
    )
    one = post_pdf(staff, {"report": "tests.one_page", "context": {"lines": ["a"]}})
    assert one.status_code == 200


def test_a_resource_the_report_may_not_load_is_400(
    staff: Client, test_reports: None
) -> None:
    context = {"logo_url": "https://example.com/logo.png"}

    response = post_pdf(staff, {"report": "tests.with_image", "context": context})

    assert response.status_code == 400
    assert "https://example.com/logo.png" in response.json()["error"]


def test_requests_past_the_labs_rate_limit_get_429(
    staff: Client, labs: Labs, settings: Any
) -> None:
    settings.PDF_RATE_LIMIT_PER_LAB = 2
    bad = {"report": "patients.nope"}  # cheap: refused after the count

    answers = [post_pdf(staff, bad).status_code for _ in range(3)]
    other_lab = post_pdf(signed_in("tom", labs["other"]), bad)

    assert answers == [404, 404, 429]
    assert other_lab.status_code == 404  # the limit is per lab


# -- merging stored PDFs ----------------------------------------------------------


def test_stored_pdfs_are_merged_in_order(
    staff: Client, labs: Labs, storage: Any
) -> None:
    first = store_pdf(labs["central"], "first", "First report")
    second = store_pdf(labs["central"], "second", "Second report")

    response = post_pdf(staff, {"merge": [second, first]})

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'inline; filename="merged.pdf"'
    pages = page_texts(body_of(response))
    assert ["Second report" in pages[0], "First report" in pages[1]] == [True, True]


def test_a_stored_file_that_is_not_a_pdf_is_400(
    staff: Client, labs: Labs, local_storage: Any
) -> None:
    good = store_pdf(labs["central"], "good", "Fine")
    bad = f"labs/{labs['central'].pk}/reports/scan.pdf"
    local_storage.upload(bad, b"\x89PNG\r\n\x1a\n not a pdf")

    response = post_pdf(staff, {"merge": [good, bad]})

    assert response.status_code == 400
    assert "PDF 2 of 2 is not a readable PDF" in response.json()["error"]


def test_a_missing_stored_pdf_is_404_naming_its_position(
    staff: Client, labs: Labs, storage: Any
) -> None:
    good = store_pdf(labs["central"], "good", "Fine")
    missing = f"labs/{labs['central'].pk}/reports/never-made.pdf"

    response = post_pdf(staff, {"merge": [good, missing]})

    assert response.status_code == 404
    assert response.json()["error"].startswith("merge[1]: there is no stored PDF")


def test_storage_down_is_503_with_retry_after(
    staff: Client, labs: Labs, settings: Any, s3_bucket: str
) -> None:
    s3_down(settings, s3_bucket)

    merge = post_pdf(staff, {"merge": [f"labs/{labs['central'].pk}/reports/a.pdf"]})
    batch = post_pdf(staff, {"batch": [summary()]})

    for response in (merge, batch):
        assert response.status_code == 503
        assert response["Retry-After"] == "30"
    assert not DBTaskResult.objects.exists()  # nothing queued without its request


# -- batches ----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_batch_is_queued_then_stored_and_announced(
    labs: Labs, storage: Any, pusher: PusherStandIn, worker: Callable[..., None]
) -> None:
    staff = signed_in("asha", labs["central"])
    other = {
        "report": "patients.summary",
        "context": {"patient": {"name": "Ravi Kumar"}},
    }

    response = post_pdf(staff, {"batch": [summary(), other]})

    # then: 202 at once, with the job and where the PDF will be
    assert response.status_code == 202
    body = response.json()
    lab_id = labs["central"].pk
    assert body["key"].startswith(f"labs/{lab_id}/reports/")
    assert stored_keys(storage, lab_id, "reports") == []

    # when the worker runs the job
    job = DBTaskResult.objects.get(pk=body["job"])
    worker(until=lambda: pusher.events)
    job.refresh_from_db()

    # then the PDF is stored, both reports in order, and the lab is told
    assert job.status == TaskResultStatus.SUCCESSFUL
    pages = page_texts(storage.download(body["key"]))
    assert "Asha Rao" in pages[0] and "Ravi Kumar" in pages[1]
    [event] = pusher.events
    assert event.name == "pdf.ready"
    assert event.channels == [f"private-lab-{lab_id}"]
    assert event.payload["key"] == body["key"]
    assert event.payload["url"]
    assert stored_keys(storage, lab_id, "pdf-requests") == []


def test_a_report_over_the_sync_limit_is_queued(
    staff: Client, labs: Labs, settings: Any, local_storage: Any
) -> None:
    settings.PDF_SYNC_MAX_REQUEST_BYTES = 100

    response = post_pdf(staff, summary())

    assert response.status_code == 202
    job_id = response.json()["key"].rsplit("/", 1)[1].removesuffix(".pdf")
    stored = json.loads(local_storage.download(request_key(labs["central"].pk, job_id)))
    assert stored["reports"] == [
        {"report": "patients.summary", "context": SUMMARY_CONTEXT, "watermark": None}
    ]
