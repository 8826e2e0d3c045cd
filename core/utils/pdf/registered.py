"""Registered reports (core.utils.pdf.registry) rendered to PDF: `render_report`
renders a `ReportRequest` on a lab's letterhead, within the report's own
limits (limits.py). Used by core/pdf_sync.py (the endpoint's renders) and
core/pdf_jobs.py (batches).
"""

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from core.utils.pdf.errors import PdfTooManyPages
from core.utils.pdf.limits import check_context, page_limit_of
from core.utils.pdf.registry import DATA_KEY, RegisteredReport, ReportRequest
from core.utils.pdf.render import Letterhead, render_pdf

if TYPE_CHECKING:
    from admin.account.models import Lab


class ReportTooManyPages(PdfTooManyPages):
    """A report runs past its own `max_pages` (register_report); layout was
    stopped at the first page past it."""

    def __init__(self, report: RegisteredReport) -> None:
        limit = report.max_pages or 0
        plural = "" if limit == 1 else "s"
        super().__init__(limit)
        self.report = report
        self.args = (
            f"Report {report.name!r} has more than {limit} page{plural}; it is limited "
            f"to {limit} (register_report(..., max_pages={limit})). Check the "
            "data sent for it, or split it into several reports.",
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return self._rebuilt_from(self.report)


def render_report(
    request: ReportRequest,
    *,
    lab: "Lab | Letterhead | None",
    texts: Mapping[str, str] | None = None,
) -> bytes:
    """The PDF of `request` on `lab`'s letterhead (None: no letterhead), in
    the lab's language, with `texts` (the lab's wording, render_pdf's
    `texts`; None: the catalogue's).

    Raises PdfContextTooLarge before rendering a context over its limits,
    what render_pdf raises (PdfHtmlTooLarge, PdfTooManyElements,
    PdfTooManyPages, PdfResourceRefused), and ReportTooManyPages as soon as
    layout passes the report's own limit.
    Example: `render_report(ReportRequest.from_json(body), lab=lab)` ->
    b"%PDF-1.7 ...".
    """
    report = request.report
    check_context(request)
    pages = page_limit_of(report)
    try:
        return render_pdf(
            report.template,
            {DATA_KEY: request.context},
            lab=lab,
            watermark=request.watermark,
            max_pages=pages,
            texts=texts,
        )
    except PdfTooManyPages as too_long:
        if report.max_pages is not None and too_long.limit == report.max_pages:
            raise ReportTooManyPages(report) from None
        raise
