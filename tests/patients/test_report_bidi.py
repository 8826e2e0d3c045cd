"""Values, units, ranges and identifiers keep their character order in a
right-to-left report (issue 16): every registered report, and the release
report, rendered for an Arabic lab, read back in the order the glyphs are
drawn (pypdf's layout mode, left to right), must show each of them exactly
as the data holds it. Without isolation the bidi algorithm draws
"10^3/µL" as "µL/3^10" and "3.5–5.0" as "5.0–3.5"."""  # noqa: RUF002

import datetime as dt
import io
from typing import Any

import pytest
from django.utils import translation
from django.utils.formats import localize
from pypdf import PdfReader

from core.utils.pdf import render_pdf
from core.utils.pdf.registered import render_report
from core.utils.pdf.registry import _REPORTS, ReportRequest
from patients.models import Patient, Report
from patients.release import REPORT_TEMPLATE
from tests.conftest import make_lab

pytestmark = pytest.mark.django_db

#: Units and ranges whose order the bidi algorithm would change.
UNITS = ["10^3/µL", "10^6/µL", "mmol/L", "%", "g/dL", "mL/min/1.73m²"]
RANGES = ["3.5–5.0", "150 - 450", "<5.7", "0.5–1.2"]  # noqa: RUF001
#: An example context for every registered report; a report registered
#: without one fails `test_every_registered_report_has_an_example`.
EXAMPLES: dict[str, dict[str, Any]] = {
    "patients.summary": {
        "patient": {"name": "أحمد علي", "id": "P-1042/A", "age": "34 Y", "sex": "M"},
        "referred_by": "د. سارة",
        "results": [
            {"test": f"اختبار {n}", "result": result, "unit": unit,
             "reference_range": RANGES[n % len(RANGES)]}
            for n, (result, unit) in enumerate(
                zip(["13.2", "4.5", "5.4", "6.1", "-0.25", "98"], UNITS, strict=True)
            )
        ],
    },
}  # fmt: skip
#: What each example's report must show intact.
SHOWN = {
    "patients.summary": ["P-1042/A", *UNITS, *RANGES, "13.2", "-0.25"],
}


def drawn_text(pdf: bytes) -> str:
    """The text in the order its glyphs are drawn, left to right."""
    return "\n".join(
        page.extract_text(extraction_mode="layout") for page in PdfReader_(pdf).pages
    )


def PdfReader_(pdf: bytes) -> PdfReader:

    return PdfReader(io.BytesIO(pdf))


@pytest.fixture
def arabic_lab() -> Any:
    return make_lab(
        "مختبر الشفاء", language="ar", time_zone="Asia/Riyadh", country="SA"
    )


def test_every_registered_report_has_an_example() -> None:
    assert set(_REPORTS) == set(EXAMPLES) == set(SHOWN)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_a_registered_report_keeps_values_in_order_right_to_left(
    name: str, arabic_lab: Any
) -> None:
    request = ReportRequest.from_json({"report": name, "context": EXAMPLES[name]})

    text = drawn_text(render_report(request, lab=arabic_lab))

    missing = [value for value in SHOWN[name] if value not in text]
    assert missing == [], text


def test_the_release_report_keeps_values_in_order_right_to_left(arabic_lab) -> None:
    patient = Patient(lab=arabic_lab, first_name="أحمد", sex="M")
    patient.date_of_birth = dt.date(1990, 4, 1)
    patient.save()
    results = [
        {"test": "كريات الدم البيضاء", "value": 6.1, "unit": "10^3/µL", "low": 4.0,
         "high": 11.0},
        {"test": "البوتاسيوم", "value": 4.25, "unit": "mmol/L", "low": 3.5,
         "high": 5.0},
        {"test": "HbA1c", "value": 5.4, "unit": "%", "high": 5.7},
    ]  # fmt: skip
    report = Report(lab=arabic_lab, patient=patient, title="لوحة", results=results)
    report.save()

    pdf = render_pdf(
        REPORT_TEMPLATE,
        {"report": report, "patient": patient, "results": results},
        lab=arabic_lab,
    )

    text = drawn_text(pdf)
    with translation.override(arabic_lab.language):  # numbers as the lab's
        low_high = [
            f"{localize(r['low'])} – {localize(r['high'])}"  # noqa: RUF001
            for r in results[:2]
        ]
    missing = [
        shown
        for shown in ["10^3/µL", "mmol/L", "%", *low_high, "1990-04-01"]
        if shown not in text
    ]
    assert missing == [], text
