"""Work on finished PDFs with pypdf: merge several into one, lay a stamp
("CORRECTED") or an overlay page over every page of one.

Inputs are bytes, as read from storage or returned by render_pdf. An input
that is not a readable PDF (not a PDF, damaged, encrypted) raises
PdfUnreadable naming which one.

What a released report carries survives: a merge keeps every input's
attachments (the results as FHIR, attachments.py) and a stamp keeps the
whole document (attachments, PDF/A metadata). Every PDF written here has
one subset tag per font program (font_tags.py): merged reports and a
stamp page each bring their own subsets of the same fonts.

Why pypdf for this: the project already reads and writes PDFs with it,
it is pure Python (no native library to install or match), and what is
done here touches dictionaries, not content streams, so its speed is not
the cost (WeasyPrint's layout is).
"""

import io
from collections.abc import Callable, Sequence

from django.template.loader import render_to_string
from pypdf import PageObject, PdfReader, PdfWriter, Transformation
from pypdf.errors import PyPdfError
from pypdf.generic import RectangleObject

from core.utils.pdf.attachments import copy_attachments
from core.utils.pdf.errors import PdfUnreadable
from core.utils.pdf.font_tags import retag_fonts
from core.utils.pdf.render import WATERMARK_MAX_CHARS, html_to_pdf

#: The template of a stamp page: the text, large and turned, on a transparent
#: page of the size given.
STAMP_TEMPLATE = "core/pdf/stamp.html"


def merge_pdfs(pdfs: Sequence[bytes]) -> bytes:
    """One PDF with the pages of each of `pdfs`, in order (e.g. a patient's
    reports for one visit, or a day's batch for printing).

    Example: `merge_pdfs([cbc_pdf, lipid_pdf])` -> the CBC's pages, then the
    lipid profile's.
    """
    if not pdfs:
        raise ValueError("merge_pdfs needs at least one PDF.")
    writer = PdfWriter()
    names: set[str] = set()
    for number, pdf in enumerate(pdfs, start=1):
        reader = _read(pdf, f"PDF {number} of {len(pdfs)}")
        writer.append(reader)
        copy_attachments(reader, writer, names)
    return _write(writer)


def overlay_pdf(pdf: bytes, overlay: bytes) -> bytes:
    """`pdf` with the first page of `overlay` drawn over every page, scaled
    to each page's size (a signature block, a "copy" mark). The overlay
    should be transparent where the page must show through."""
    stamp = _read(overlay, "The overlay PDF").pages[0]
    return _over_each_page(pdf, lambda page: stamp)


def stamp_pdf(pdf: bytes, text: str) -> bytes:
    """`pdf` with `text` (e.g. "CORRECTED") written large and turned across
    every page, in the report fonts (any script they cover). One stamp page
    is rendered per page size, so mixed A4 and letter pages are not distorted.

    Example: `stamp_pdf(released_pdf, "CORRECTED")`.
    """
    text = " ".join(text.split())
    if not text or len(text) > WATERMARK_MAX_CHARS:
        raise ValueError(
            f"A stamp is 1 to {WATERMARK_MAX_CHARS} characters, like 'CORRECTED'."
        )
    stamps: dict[tuple[float, float], PageObject] = {}

    def stamp_for(page: PageObject) -> PageObject:
        box = page.mediabox
        size = (round(float(box.width), 1), round(float(box.height), 1))
        if size not in stamps:
            context = {"text": text, "width_pt": size[0], "height_pt": size[1]}
            html = render_to_string(STAMP_TEMPLATE, context)
            stamps[size] = PdfReader(io.BytesIO(html_to_pdf(html))).pages[0]
        return stamps[size]

    return _over_each_page(pdf, stamp_for)


def _over_each_page(pdf: bytes, stamp_for: Callable[[PageObject], PageObject]) -> bytes:
    """`pdf` with `stamp_for(page)` drawn over each page, fitted to it. Pages
    turned with /Rotate are turned in their content first, so the stamp
    reads upright as the page is shown."""
    writer = PdfWriter(clone_from=_read(pdf, "The PDF to stamp"))
    for page in writer.pages:
        page.transfer_rotation_to_content()
        stamp = stamp_for(page)
        page.merge_transformed_page(stamp, _fit(stamp.mediabox, page.mediabox))
    return _write(writer)


def _fit(source: RectangleObject, target: RectangleObject) -> Transformation:
    """The transformation that maps box `source` onto box `target`."""
    scale_x = float(target.width) / float(source.width)
    scale_y = float(target.height) / float(source.height)
    return (
        Transformation()
        .translate(-float(source.left), -float(source.bottom))
        .scale(scale_x, scale_y)
        .translate(float(target.left), float(target.bottom))
    )


def _read(pdf: bytes, which: str) -> PdfReader:
    try:
        reader = PdfReader(io.BytesIO(pdf), strict=False)
        if reader.is_encrypted:
            raise PdfUnreadable(
                f"{which} is encrypted; give the PDF without a password."
            )
        if not reader.pages:
            raise PdfUnreadable(f"{which} has no pages.")
    except (PyPdfError, ValueError, KeyError, TypeError) as error:
        raise PdfUnreadable(
            f"{which} is not a readable PDF ({type(error).__name__}); give the "
            "file as it was produced, not a scan or a partial download."
        ) from error
    return reader


def _write(writer: PdfWriter) -> bytes:
    retag_fonts(writer)
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()
