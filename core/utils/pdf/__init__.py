"""PDF reports: Django templates rendered by WeasyPrint, and finished PDFs
merged and stamped with pypdf.

    pdf = render_pdf("reports/cbc.html", {"report": report}, lab=lab,
                     watermark="DRAFT")
    batch = merge_pdfs([pdf, other_pdf])
    corrected = stamp_pdf(pdf, "CORRECTED")

Templates extend `core/pdf/base_report.html` (blocks: title, style, header,
footer, footer_note, content). Rendering is safe by construction: no network,
no file outside the static and media folders (`fetcher`), limits on the HTML
(size, elements per page) and on the pages laid out, and on a registered
report's context (`limits`, `page_limit`), fonts shipped in
core/static/core/fonts/ for Latin, Arabic and Devanagari.

Modules: `render` (render_pdf, html_to_pdf, Letterhead, PageSetup), `compose`
(merge_pdfs, stamp_pdf, overlay_pdf), `fetcher` (what a report may load),
`limits` (context and element caps), `page_limit` (layout stopped at the
page past the limit), `reports` (render_report), `weasyprint_logs`, `errors`.
"""

from core.utils.pdf.compose import merge_pdfs, overlay_pdf, stamp_pdf
from core.utils.pdf.errors import (
    PdfContextTooLarge,
    PdfError,
    PdfHtmlTooLarge,
    PdfResourceRefused,
    PdfTooManyElements,
    PdfTooManyPages,
    PdfUnreadable,
)
from core.utils.pdf.render import (
    Letterhead,
    PageSetup,
    ReportFrame,
    html_to_pdf,
    render_pdf,
)

__all__ = [
    "Letterhead",
    "PageSetup",
    "PdfContextTooLarge",
    "PdfError",
    "PdfHtmlTooLarge",
    "PdfResourceRefused",
    "PdfTooManyElements",
    "PdfTooManyPages",
    "PdfUnreadable",
    "ReportFrame",
    "html_to_pdf",
    "merge_pdfs",
    "overlay_pdf",
    "render_pdf",
    "stamp_pdf",
]
