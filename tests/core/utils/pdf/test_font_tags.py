"""One subset tag per font program in every PDF compose.py writes (ISO
32000-1 §9.6.4; issue 16 point 5): WeasyPrint names the subsets of one
font alike in every PDF it makes, so merged reports and a stamped report
held different programs under one tag. Checked with qpdf and with a tag
check that reads every font descriptor of the file (tests/pdf_tools.py).
"""

import io
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from core.utils.pdf import html_to_pdf, merge_pdfs, stamp_pdf
from core.utils.pdf.font_tags import program_tag
from tests.pdf_tools import font_tag_clashes, pdftotext, qpdf_check

pytestmark = pytest.mark.engine_independent


def page(text: str) -> bytes:
    """A one-page PDF of `text` in the report fonts (bold: the stamp's)."""
    return html_to_pdf(
        '<html lang="en"><head><link rel="stylesheet" href="core/pdf/report.css">'
        f"</head><body><p>{text}</p><p><b>{text}</b></p></body></html>"
    )


@pytest.fixture(scope="module")
def two_reports() -> tuple[bytes, bytes]:
    """Two PDFs whose fonts are different subsets of the same fonts."""
    return page("Haemoglobin 13.2 g/dL"), page("Sodium 140 mmol/L, Potassium")


def test_weasyprint_names_different_subsets_alike(
    two_reports: tuple[bytes, bytes],
) -> None:
    """The premise: without retagging, a merge would clash. (Each PDF is
    fine alone; WeasyPrint's tags come from the font's description.)"""
    first, second = two_reports
    assert font_tag_clashes(first) == {} and font_tag_clashes(second) == {}

    writer = PdfWriter()
    for pdf in two_reports:
        writer.append(PdfReader(io.BytesIO(pdf)))
    plain = io.BytesIO()
    writer.write(plain)
    assert font_tag_clashes(plain.getvalue()) != {}


def test_a_merge_has_one_tag_per_font_program(
    two_reports: tuple[bytes, bytes], tmp_path: Path
) -> None:
    merged = merge_pdfs(list(two_reports))

    assert font_tag_clashes(merged) == {}
    status, said = qpdf_check(merged, tmp_path)
    assert status == 0, said
    assert "Potassium" in pdftotext(merged)


def test_the_same_program_keeps_one_tag_across_a_merge(
    two_reports: tuple[bytes, bytes],
) -> None:
    first, _ = two_reports

    merged = merge_pdfs([first, first])

    assert font_tag_clashes(merged) == {}


def test_a_stamp_has_one_tag_per_font_program(
    two_reports: tuple[bytes, bytes], tmp_path: Path
) -> None:
    stamped = stamp_pdf(two_reports[0], "CORRECTED")

    assert font_tag_clashes(stamped) == {}
    status, said = qpdf_check(stamped, tmp_path)
    assert status == 0, said


def test_a_tag_is_six_capitals_from_the_program() -> None:
    assert program_tag(b"font one") == program_tag(b"font one")
    assert program_tag(b"font one") != program_tag(b"font two")
    assert program_tag(b"x").isupper() and len(program_tag(b"x")) == 6
