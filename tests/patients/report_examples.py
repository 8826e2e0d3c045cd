"""An example of every registered report, for the tests that check all of
them (test_report_bidi.py, test_report_texts.py, test_report_numbers.py).

`EXAMPLES` maps each report name in the registry (server-only ones too) to
an `Example`: how to render it for a lab, with data that holds what a
report gets wrong most easily in another language: units with digits, "^",
"/", "µ", "%", ranges such as "3.5–5.0", negative and grouped numbers, an
identifier with "-" and "/", a date, a watermark. A report registered
without an example fails `test_every_registered_report_has_an_example`.

The data's words (test and patient names) are each language's own where a
lab would write them so; what every report prints the same in every
language (units, identifiers, zone abbreviations) is listed in each
example's `verbatim`, and its numbers, as data writes them, in `numbers`.
"""  # noqa: RUF002

import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pypdf import PdfReader

from admin.account.models import Lab
from core.models.translation import lab_texts
from core.utils.pdf.registered import render_report
from core.utils.pdf.registry import ReportRequest
from patients.models import Patient, Report
from patients.release import release_pdf
from tests.conftest import make_lab

#: Units whose order a right-to-left line would change, one of each kind.
UNITS = ["10^3/µL", "10^6/µL", "mmol/L", "%", "g/dL", "mL/min/1.73m²"]
#: Reference ranges as a client sends them (text), with each kind of dash.
RANGES = ["3.5–5.0", "150 - 450", "<5.7", "0.5–1.2", "-1.0–1.0", "1500–4000"]  # noqa: RUF001
#: Results as a client sends them: text or JSON numbers.
RESULTS: list[Any] = ["13.2", 4.5, "5.4", "-0.25", 98, "12500"]
#: A patient identifier, printed as it is in every language.
PATIENT_ID = "P-1042/A"
#: Lab, patient, doctor and test names as each language's lab writes them.
WORDS = {
    "en": {"lab": "Central Lab", "name": "Asha Rao", "doctor": "Dr Sen",
           "tests": ["Haemoglobin", "Sodium", "Platelets"]},
    "ar": {"lab": "مختبر الشفاء", "name": "أحمد علي", "doctor": "د. سارة",
           "tests": ["الهيموغلوبين", "الصوديوم", "الصفائح"]},
    "hi": {"lab": "केंद्रीय प्रयोगशाला", "name": "आशा राव", "doctor": "डॉ सेन",
           "tests": ["हीमोग्लोबिन", "सोडियम", "प्लेटलेट्स"]},
}  # fmt: skip
#: Where each language's example lab is (its zone prints on reports).
ZONES = {"en": "Europe/London", "ar": "Asia/Riyadh", "hi": "Asia/Kolkata"}


@dataclass(frozen=True)
class Example:
    """How to render one report for a lab, and what it must print: `numbers`
    (as data writes them, each printed in the lab's number format), and
    `verbatim` (printed exactly so in every language)."""

    render: Callable[[Lab], bytes]
    numbers: list[str]
    verbatim: list[str]


def report_lab(language: str, digits: str = "latin", **fields: Any) -> Lab:
    """A saved lab writing reports in `language` with `digits`."""
    return make_lab(
        WORDS[language]["lab"], language=language, digits=digits,
        time_zone=ZONES[language], **fields,
    )  # fmt: skip


def drawn_text(pdf: bytes) -> str:
    """The PDF's text in the order its glyphs are drawn, left to right
    (pypdf's layout mode): a right-to-left word reads backwards."""
    pages = PdfReader(io.BytesIO(pdf)).pages
    return "\n".join(page.extract_text(extraction_mode="layout") for page in pages)


def analyte(lab: Lab, n: int) -> str:
    """The name of the n-th test (analyte) in the lab's language."""
    tests = WORDS[lab.language]["tests"]
    return tests[n % len(tests)]


def summary_context(lab: Lab) -> dict[str, Any]:
    """A "patients.summary" context: every unit, range and kind of result."""
    words = WORDS[lab.language]
    return {
        "patient": {"name": words["name"], "id": PATIENT_ID, "age": "34", "sex": "M"},
        "referred_by": words["doctor"],
        "results": [
            {"test": analyte(lab, n), "result": result, "unit": unit,
             "reference_range": RANGES[n]}
            for n, (result, unit) in enumerate(zip(RESULTS, UNITS, strict=True))
        ],
    }  # fmt: skip


def render_summary(lab: Lab) -> bytes:
    """The summary of `summary_context`, as a draft (the watermark prints)."""
    request = ReportRequest.from_json(
        {
            "report": "patients.summary",
            "context": summary_context(lab),
            "watermark": "DRAFT",
        }
    )
    return render_report(request, lab=lab, texts=lab_texts(lab.pk, lab.language))


#: The results of the released report: (value, unit, low, high).
RELEASED_RESULTS = [
    (13.2, "g/dL", 12.0, 15.5),
    (6.1, "10^3/µL", 4.0, 11.0),
    (4.25, "mmol/L", 3.5, 5.0),
    (5.4, "%", None, 5.7),
    (12500, "10^6/µL", 1500, 4000),
]
#: When the released report was released (UTC).
RELEASED_AT = dt.datetime(2026, 3, 8, 6, 30, tzinfo=dt.UTC)


def released_report(lab: Lab) -> Report:
    """Edition 2 of a released report (a correction of edition 1), saved."""
    patient = Patient(lab=lab, first_name=WORDS[lab.language]["name"], sex="M")
    patient.date_of_birth = dt.date(1990, 4, 1)
    patient.save()
    results = [
        {"test": analyte(lab, n), "value": value, "unit": unit,
         **({"low": low} if low is not None else {}), "high": high}
        for n, (value, unit, low, high) in enumerate(RELEASED_RESULTS)
    ]  # fmt: skip
    first = Report(lab=lab, patient=patient, title=analyte(lab, 0), results=results)
    first.save()
    second = Report(lab=lab, patient=patient, title=first.title, results=results)
    second.edition, second.previous, second.released_at = 2, first, RELEASED_AT
    second.save()
    return second


def render_release(lab: Lab) -> bytes:
    """The released edition's PDF, as the release job renders it."""
    return release_pdf(released_report(lab))


def _release_numbers() -> list[str]:
    """Values, ranges ("low - high", an en dash) and editions, as data
    writes them."""
    values = [str(value) for value, _, _, _ in RELEASED_RESULTS]
    ranges = [f"{low} – {high}" for _, _, low, high in RELEASED_RESULTS if low]  # noqa: RUF001
    return [*values, *ranges, "2", "1"]  # the edition and the one it replaces


EXAMPLES: dict[str, Example] = {
    "patients.summary": Example(
        render_summary,
        numbers=[*(str(r) for r in RESULTS), *RANGES, "34"],
        verbatim=[PATIENT_ID, *UNITS],
    ),
    "patients.release": Example(
        render_release,
        numbers=_release_numbers(),
        verbatim=[unit for _, unit, _, _ in RELEASED_RESULTS],
    ),
}
