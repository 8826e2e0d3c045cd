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

Modules: `registry` (register_report, ReportRequest: names and checks, no
WeasyPrint), `registered` (render_report), `render` (render_pdf,
html_to_pdf, Letterhead, PageSetup), `compose` (merge_pdfs, stamp_pdf,
overlay_pdf), `fetcher` (what a report may load), `limits` (context and
element caps), `page_limit` (layout stopped at the page past the limit),
`weasyprint_logs`, `errors`.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
#: The module of each name above. They are imported on first use (PEP 562),
#: so that importing this package (every process does, for the report
#: registry apps fill at start-up) does not load WeasyPrint, which takes
#: about a second and logs its CSS parsing.
_MODULES = {
    "merge_pdfs": "compose",
    "overlay_pdf": "compose",
    "stamp_pdf": "compose",
    "Letterhead": "render",
    "PageSetup": "render",
    "ReportFrame": "render",
    "html_to_pdf": "render",
    "render_pdf": "render",
}


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = _MODULES.get(name, "errors")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
