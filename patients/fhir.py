"""A released report's results as FHIR: one `DiagnosticReport` with its
results as contained `Observation`s (issue 16 point 5), the JSON a released
report's PDF carries as an attachment (patients/release.py).

    body = fhir_json(report)      # RFC 8785 canonical JSON, UTF-8
    attachment = fhir_attachment(report)   # "report.fhir.json", Data

Checked by code we did not write: every resource is validated with
`fhir.resources` before it is embedded. That library's maintained models
are FHIR R4B (4.3.0), whose DiagnosticReport and Observation have the same
elements as R4 (4.0.1) for what is written here (status, category, code,
subject, issued, result, value[x], referenceRange, interpretation), so the
JSON reads as R4 too. A value that is a number is a `valueQuantity` (with
the unit as printed); any other value ("Positive", "<5.7") a `valueString`.
"""

from numbers import Real
from typing import Any

import rfc8785
from fhir.resources.R4B.diagnosticreport import DiagnosticReport

from core.utils.pdf.attachments import PdfAttachment
from patients.models.reports import Report, is_critical

#: The attachment's name in a released PDF.
ATTACHMENT_NAME = "report.fhir.json"
#: Who names the report identifiers (our own URN: a report id and edition).
IDENTIFIER_SYSTEM = "urn:lis:patients:report"
#: HL7 code systems used here.
DIAGNOSTIC_SERVICE = "http://terminology.hl7.org/CodeSystem/v2-0074"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"


def diagnostic_report(report: Report) -> dict[str, Any]:
    """The released edition `report` as a FHIR DiagnosticReport (a dict,
    validated): status "final", or "corrected" for a correction.

    Example: `{"resourceType": "DiagnosticReport", "status": "final",
    "code": {"text": "CBC"}, "contained": [{"resourceType": "Observation",
    "id": "result-1", "code": {"text": "Haemoglobin"}, "valueQuantity":
    {"value": 13.2, "unit": "g/dL"}, ...}], "result": [{"reference":
    "#result-1"}], ...}`.
    """
    status = "corrected" if report.previous_id else "final"
    observations = [
        _observation(number, result, status)
        for number, result in enumerate(report.results, start=1)
    ]
    patient = report.patient
    resource: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "id": f"report-{report.pk}-edition-{report.edition}",
        "identifier": [
            {"system": IDENTIFIER_SYSTEM, "value": f"{report.pk}/{report.edition}"}
        ],
        "status": status,
        "category": [{"coding": [{"system": DIAGNOSTIC_SERVICE, "code": "LAB"}]}],
        "code": {"text": report.title},
        "subject": {
            "display": " ".join(
                part for part in (patient.first_name, patient.last_name) if part
            )
        },
        "contained": observations,
        "result": [{"reference": f"#{item['id']}"} for item in observations],
    }
    if report.released_at is not None:
        resource["issued"] = report.released_at.isoformat()
    DiagnosticReport.model_validate(resource)  # raises on what FHIR refuses
    return resource


def fhir_json(report: Report) -> bytes:
    """diagnostic_report(report) as canonical JSON (RFC 8785), UTF-8."""
    return rfc8785.dumps(diagnostic_report(report))


def fhir_attachment(report: Report) -> PdfAttachment:
    """The attachment a released PDF carries: the results as FHIR JSON, the
    data the document shows (AFRelationship /Data)."""
    return PdfAttachment(
        ATTACHMENT_NAME,
        fhir_json(report),
        description="Results as FHIR R4 DiagnosticReport with Observations",
        relationship="Data",
    )


def _observation(number: int, result: dict[str, Any], status: str) -> dict[str, Any]:
    unit = result.get("unit") or None
    observation: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"result-{number}",
        "status": status,
        "category": [
            {"coding": [{"system": OBSERVATION_CATEGORY, "code": "laboratory"}]}
        ],
        "code": {"text": str(result["test"])},
    }
    value = result["value"]
    if _is_number(value):
        observation["valueQuantity"] = _quantity(value, unit)
    else:
        observation["valueString"] = str(value)
    bounds = {
        end: _quantity(result[end], unit)
        for end in ("low", "high")
        if _is_number(result.get(end))
    }
    if bounds:
        observation["referenceRange"] = [bounds]
    if is_critical(result):
        low = result.get("critical_low")
        code = "LL" if _is_number(low) and value < low else "HH"
        observation["interpretation"] = [
            {"coding": [{"system": INTERPRETATION, "code": code}]}
        ]
    return observation


def _quantity(value: Any, unit: str | None) -> dict[str, Any]:
    return {"value": value, **({"unit": unit} if unit else {})}


def _is_number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)
