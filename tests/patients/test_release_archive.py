"""A released report is archival and machine-readable (issue 16 point 5):
PDF/A-3b, carrying its results as a FHIR DiagnosticReport with
Observations, an associated file (/AF, AFRelationship /Data) whose values
are the released ones, and which survives a merge and a stamp.

Checked with code we did not write: fhir.resources validates the JSON,
qpdf checks the files, pypdf reads the attachments and the XMP metadata.
veraPDF (the PDF/A validator) is a Java application that cannot be
installed here (no registry we reach ships it), so the PDF/A claims that
can be read are checked one by one: the XMP identification (part 3,
conformance B), the sRGB output intent, every font embedded, the
associated file's relationship, and a file qpdf finds no error in.
"""

import io
import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from pypdf import PdfReader

from core.utils.pdf import merge_pdfs, stamp_pdf
from core.utils.pdf.attachments import attachments_of, relationships_of
from patients.fhir import ATTACHMENT_NAME
from patients.models import Report
from patients.release import release_pdf
from tests.patients.report_examples import released_report, report_lab
from tests.pdf_tools import font_tag_clashes, qpdf_check

pytestmark = pytest.mark.django_db

#: The XMP namespace of PDF/A identification (ISO 19005-3 §6.6.4).
PDFA_ID = "http://www.aiim.org/pdfa/ns/id/"


@pytest.fixture
def released() -> tuple[Report, bytes]:
    """A released correction (edition 2) of a Hindi lab, and its PDF."""
    report = released_report(report_lab("hi"))
    return report, release_pdf(report)


def pdfa_claims(pdf: bytes) -> dict[str, str]:
    """The PDF/A identification in the file's XMP metadata ({} for none),
    read with the standard library's XML parser."""
    metadata = PdfReader(io.BytesIO(pdf)).xmp_metadata
    if metadata is None:
        return {}
    xmp = ElementTree.fromstring(metadata.stream.get_data())  # noqa: S314 (ours)
    return {
        key.split("}")[1]: value
        for element in xmp.iter()
        for key, value in element.attrib.items()
        if key.startswith(f"{{{PDFA_ID}}}")
    }


def embedded_fonts(pdf: bytes) -> dict[str, bool]:
    """Each font the pages use, by name, and whether its program is in the
    file (what pdffonts calls "emb")."""
    found = {}
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            holder = (
                font["/DescendantFonts"][0].get_object()
                if "/DescendantFonts" in font
                else font
            )
            descriptor = holder["/FontDescriptor"].get_object()
            found[str(font["/BaseFont"])] = any(
                key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")
            )
    return found


def fhir_of(pdf: bytes, name: str = ATTACHMENT_NAME) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(attachments_of(pdf)[name])
    return data


def test_a_released_pdf_is_pdf_a_3b(
    released: tuple[Report, bytes], tmp_path: Path
) -> None:
    _, pdf = released
    reader = PdfReader(io.BytesIO(pdf))

    assert pdfa_claims(pdf) == {"part": "3", "conformance": "B"}
    intents = reader.trailer["/Root"]["/OutputIntents"]
    assert [intent["/S"] for intent in intents] == ["/GTS_PDFA1"]
    assert "/DestOutputProfile" in intents[0]
    status, said = qpdf_check(pdf, tmp_path)
    assert status == 0, said


def test_every_font_of_a_released_pdf_is_embedded(
    released: tuple[Report, bytes],
) -> None:
    fonts = embedded_fonts(released[1])

    assert fonts and all(fonts.values()), fonts


def test_the_results_are_an_associated_data_file(
    released: tuple[Report, bytes],
) -> None:
    _, pdf = released

    assert relationships_of(pdf) == {ATTACHMENT_NAME: "Data"}
    spec = PdfReader(io.BytesIO(pdf)).trailer["/Root"]["/AF"][0].get_object()
    assert spec["/EF"]["/F"].get_object()["/Subtype"] == "/application/json"


def test_the_attachment_holds_the_released_values(
    released: tuple[Report, bytes],
) -> None:
    report, pdf = released

    resource = fhir_of(pdf)

    DiagnosticReport.model_validate(resource)  # FHIR's rules, not ours
    assert resource["status"] == "corrected"  # edition 2 corrects edition 1
    assert resource["code"]["text"] == report.title
    assert resource["issued"] == report.released_at.isoformat()
    observations = {item["id"]: item for item in resource["contained"]}
    shown = [observations[ref["reference"][1:]] for ref in resource["result"]]
    assert len(shown) == len(report.results)
    for observation, result in zip(shown, report.results, strict=True):
        assert observation["code"]["text"] == result["test"]
        assert observation["valueQuantity"]["value"] == result["value"]
        assert observation["valueQuantity"]["unit"] == result["unit"]
        (bounds,) = observation["referenceRange"]
        assert bounds["high"]["value"] == result["high"]
        assert bounds.get("low", {}).get("value") == result.get("low")


def test_the_attachment_survives_a_stamp(
    released: tuple[Report, bytes], tmp_path: Path
) -> None:
    _, pdf = released

    stamped = stamp_pdf(pdf, "CORRECTED")

    assert attachments_of(stamped) == attachments_of(pdf)
    assert relationships_of(stamped) == {ATTACHMENT_NAME: "Data"}
    assert pdfa_claims(stamped) == {"part": "3", "conformance": "B"}
    assert embedded_fonts(stamped) and all(embedded_fonts(stamped).values())
    status, said = qpdf_check(stamped, tmp_path)
    assert status == 0, said


def test_each_attachment_survives_a_merge(
    released: tuple[Report, bytes], tmp_path: Path
) -> None:
    _, pdf = released
    other = released_report(report_lab("ar"))
    other_pdf = release_pdf(other)

    merged = merge_pdfs([pdf, other_pdf])

    second = "report-2.fhir.json"
    assert relationships_of(merged) == {ATTACHMENT_NAME: "Data", second: "Data"}
    assert fhir_of(merged) == fhir_of(pdf)
    assert fhir_of(merged, second) == fhir_of(other_pdf)
    assert fhir_of(merged, second)["code"]["text"] == other.title
    status, said = qpdf_check(merged, tmp_path)
    assert status == 0, said
    assert font_tag_clashes(merged) == {}
