"""The text layer of a report (issue 16 point 4): each line carries its
text as ActualText (actual_text.py), and the glyph map of lines with
combining marks is rewritten from it when the PDF is finished
(text_map.py). Read back with pdftotext, pypdf and pdftoppm.
"""

import io
import re
from pathlib import Path

import pytest
import weasyprint.draw.text  # type: ignore[import-untyped]
from django.core.exceptions import ImproperlyConfigured
from pypdf import PdfReader
from weasyprint import HTML  # type: ignore[import-untyped]

from core.utils.pdf import html_to_pdf, text_map
from core.utils.pdf.actual_text import LINE_DRAWER, actual_text, install
from core.utils.pdf.fetcher import ReportURLFetcher, static_base_url
from core.utils.pdf.text_map import fix_text_map
from tests.pdf_tools import page_png, pdftotext, pypdf_text, qpdf_check

pytestmark = pytest.mark.engine_independent

#: Words whose glyphs Devanagari shares between clusters (issue 16).
HINDI = ["शर्करा", "रोगी", "क्रिएटिनिन", "प्रोथ्रोम्बिन", "कोशिकाएँ", "रिपोर्ट"]


def html(*lines: str, language: str = "hi") -> str:
    paragraphs = "".join(f"<p>{line}</p>" for line in lines)
    return (
        f'<html lang="{language}"><head><link rel="stylesheet" '
        f'href="core/pdf/report.css"></head><body>{paragraphs}</body></html>'
    )


def spans(pdf: bytes) -> list[str]:
    """The ActualText of each marked-content span, in drawing order."""
    found = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        content = page.get_contents()
        for operands, operator in [] if content is None else content.operations:
            if operator == b"BDC" and "/ActualText" in operands[1]:
                found.append(str(operands[1]["/ActualText"]))
    return found


def unfixed(source: str) -> bytes:
    """WeasyPrint's PDF with the ActualText spans, before text_map."""
    document = HTML(
        string=source, base_url=static_base_url(), url_fetcher=ReportURLFetcher()
    ).render()
    with actual_text() as drawn:
        pdf: bytes = document.write_pdf()
    assert drawn.marks
    return pdf


def words(text: str) -> list[str]:
    return re.findall(r"\S+", text)


def test_hindi_words_extract_intact_with_both_extractors() -> None:
    pdf = html_to_pdf(html(" ".join(HINDI), *HINDI))

    for extract in (pdftotext, pypdf_text):
        text = extract(pdf)
        assert [word for word in HINDI if words(text).count(word) != 2] == [], text


def test_without_the_text_layer_hindi_extracts_broken() -> None:
    """The premise: WeasyPrint alone gives some of these words back wrong."""
    pdf = HTML(
        string=html(*HINDI), base_url=static_base_url(), url_fetcher=ReportURLFetcher()
    ).write_pdf()

    for extract in (pdftotext, pypdf_text):
        assert set(HINDI) - set(words(extract(pdf))), extract.__name__


def test_each_line_carries_its_text_but_right_to_left_lines() -> None:
    pdf = html_to_pdf(html("रक्त शर्करा", "Sodium 140 mmol/L", "سكر الدم"))

    assert spans(pdf) == ["रक्त शर्करा", "Sodium 140 mmol/L"]


def test_the_map_rewrite_changes_no_pixel(tmp_path: Path) -> None:
    before = unfixed(html(*HINDI, "हीमोग्लोबिन 13.2 g/dL"))

    after = fix_text_map(before)

    assert after != before
    assert page_png(after, dpi=100) == page_png(before, dpi=100)
    status, said = qpdf_check(after, tmp_path)
    assert status == 0, said


def test_a_pdf_without_combining_marks_is_left_as_it_is() -> None:
    source = html("Haemoglobin 13.2 g/dL", "الهيموغلوبين", language="en")
    document = HTML(
        string=source, base_url=static_base_url(), url_fetcher=ReportURLFetcher()
    ).render()
    with actual_text() as drawn:
        pdf = document.write_pdf()

    assert not drawn.marks
    assert fix_text_map(pdf) is pdf


def test_a_font_out_of_codes_keeps_its_map(monkeypatch: pytest.MonkeyPatch) -> None:
    before = unfixed(html(*HINDI))
    monkeypatch.setattr(text_map, "MAX_CODE", 0)

    after = fix_text_map(before)

    assert after is before


def test_weasyprint_alone_draws_no_spans() -> None:
    """The wrapper acts only inside actual_text(): WeasyPrint used directly
    (the benchmark's baseline) draws as before."""
    install()
    pdf = HTML(
        string=html("रक्त शर्करा"),
        base_url=static_base_url(),
        url_fetcher=ReportURLFetcher(),
    ).write_pdf()

    assert spans(pdf) == []


def test_a_weasyprint_without_the_line_drawer_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delattr(weasyprint.draw.text, LINE_DRAWER)

    with pytest.raises(ImproperlyConfigured, match=LINE_DRAWER):
        install()
