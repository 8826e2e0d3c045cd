"""Registered reports (core.pdf_reports) rendered to PDF: `render_report`
renders a `ReportRequest` on a lab's letterhead, within the report's own
page limit. Used by core/pdf_view.py and core/utils/pdf/jobs.py.
"""

import io
from typing import TYPE_CHECKING

from pypdf import PdfReader

from core.pdf_reports import DATA_KEY, RegisteredReport, ReportRequest
from core.utils.pdf.errors import PdfTooManyPages
from core.utils.pdf.render import render_pdf

if TYPE_CHECKING:
    from admin.account.models import Lab


class ReportTooManyPages(PdfTooManyPages):
    """A report came out longer than its own `max_pages` (register_report)."""

    def __init__(self, report: RegisteredReport, pages: int) -> None:
        limit = report.max_pages or 0
        super().__init__(limit, pages=pages)
        self.args = (
            f"Report {report.name!r} has {pages} pages; it is limited to {limit}. "
            "Check the data sent for it, or split it into several reports.",
        )


def render_report(request: ReportRequest, *, lab: "Lab | None") -> bytes:
    """The PDF of `request` on `lab`'s letterhead (None: no letterhead), in
    the lab's language.

    Raises what render_pdf raises (PdfHtmlTooLarge, PdfTooManyPages,
    PdfResourceRefused), and ReportTooManyPages past the report's own limit.
    Example: `render_report(ReportRequest.from_json(body), lab=lab)` ->
    b"%PDF-1.7 ...".
    """
    report = request.report
    pdf = render_pdf(
        report.template,
        {DATA_KEY: request.context},
        lab=lab,
        watermark=request.watermark,
    )
    if report.max_pages is not None:
        pages = len(PdfReader(io.BytesIO(pdf)).pages)
        if pages > report.max_pages:
            raise ReportTooManyPages(report, pages)
    return pdf
