"""Visual regression: page 1 of every registered report, in every language
of LANGUAGES, looks as its reference picture in
tests/patients/report_pictures/ (pdftoppm, 50 dpi, gray), which a person
can open in the repository. A change to a template, a font, the bidi
isolation or the layout that moves what a page shows fails here; the new
picture and a picture of the difference are kept in
var/test-artifacts/report-pictures/ to look at.

Tolerance: TOLERANCE of the ink may differ (by more than DIFFERENCE in
gray). The examples' renders are the same on every run (fixed dates and
identifiers), so the margin is for another FreeType's antialiasing; one
unit drawn in another order (`µL/3^10`), a moved table or a lost line is
more than it.

To accept a deliberate change: `LIS_UPDATE_REPORT_PICTURES=1 pytest
tests/patients/test_report_pictures.py`, look at the new pictures, commit
them.
"""

import io
import os
from pathlib import Path

import pytest
from django.conf import settings
from PIL import Image, ImageChops

from core.utils.pdf.registry import all_reports
from tests.artifacts import keep
from tests.patients.report_examples import EXAMPLES, report_lab
from tests.pdf_tools import page_png

pytestmark = pytest.mark.django_db

PICTURES = Path(__file__).parent / "report_pictures"
#: The share of the ink that may differ, by how much gray, and what is ink.
TOLERANCE = 0.005
DIFFERENCE = 64
INK = 192
LANGUAGES = [code for code, _ in settings.LANGUAGES]


def gray(png: bytes) -> Image.Image:
    return Image.open(io.BytesIO(png)).convert("L")


def differing_share(reference: Image.Image, picture: Image.Image) -> float:
    """The share of the ink (pixels darker than INK in either picture) that
    differs by more than DIFFERENCE; 1.0 when the sizes differ (the page
    itself changed). Measured against the ink, not the page, so a mostly
    white page does not hide a changed table."""
    if reference.size != picture.size:
        return 1.0
    changed = ImageChops.difference(reference, picture).point(
        lambda value: 255 if value > DIFFERENCE else 0
    )
    ink = ImageChops.darker(reference, picture).point(
        lambda value: 255 if value < INK else 0
    )
    inked = ink.histogram()[255]
    return changed.histogram()[255] / inked if inked else 0.0


def png(picture: Image.Image) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def keep_artifacts(name: str, picture: Image.Image, reference: Image.Image) -> Path:
    """The new picture and its difference from the reference, kept in
    var/test-artifacts/report-pictures/; that folder."""
    kept = keep(f"report-pictures/{name}.png", png(picture))
    if reference.size == picture.size:
        difference = ImageChops.invert(ImageChops.difference(reference, picture))
        keep(f"report-pictures/{name}-difference.png", png(difference))
    return kept.parent


def test_every_registered_report_has_a_picture_test():
    assert {report.name for report in all_reports()} == set(EXAMPLES)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("report", sorted(EXAMPLES))
def test_page_one_looks_as_its_reference(report, language):
    name = f"{report}-{language}"
    picture = gray(page_png(EXAMPLES[report].render(report_lab(language))))
    reference_file = PICTURES / f"{name}.png"
    if os.environ.get("LIS_UPDATE_REPORT_PICTURES"):
        PICTURES.mkdir(exist_ok=True)
        picture.save(reference_file, optimize=True)
    assert reference_file.exists(), (
        f"No reference picture {reference_file}; make it with "
        "LIS_UPDATE_REPORT_PICTURES=1, look at it, and commit it."
    )
    reference = Image.open(reference_file).convert("L")

    share = differing_share(reference, picture)

    if share > TOLERANCE:
        kept = keep_artifacts(name, picture, reference)
        pytest.fail(
            f"{name}: {share:.1%} of page 1's ink differs from {reference_file.name} "
            f"(at most {TOLERANCE:.0%}); the new picture and the difference are "
            f"in {kept}"
        )
