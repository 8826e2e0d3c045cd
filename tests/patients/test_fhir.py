"""A released report's results as FHIR (patients/fhir.py): a DiagnosticReport
with contained Observations that fhir.resources accepts, numbers as
quantities, other values as text, critical values flagged, canonical JSON.
"""

import json
from typing import Any

import pytest
import rfc8785
from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from pydantic import ValidationError

from patients.fhir import diagnostic_report, fhir_attachment, fhir_json
from patients.models import Patient, Report
from tests.conftest import make_lab

pytestmark = pytest.mark.django_db


def report_with(*results: dict[str, Any]) -> Report:
    lab = make_lab("Central Lab")
    patient = Patient(lab=lab, first_name="Asha", last_name="Rao", sex="F")
    patient.save()
    report = Report(lab=lab, patient=patient, title="CBC", results=list(results))
    report.save()
    return report


def observations(resource: dict[str, Any]) -> list[dict[str, Any]]:
    by_id = {item["id"]: item for item in resource["contained"]}
    return [by_id[ref["reference"][1:]] for ref in resource["result"]]


def test_a_report_is_a_valid_diagnostic_report() -> None:
    report = report_with(
        {"test": "Haemoglobin", "value": 13.2, "unit": "g/dL", "low": 12, "high": 15.5}
    )

    resource = diagnostic_report(report)

    parsed = DiagnosticReport.model_validate(resource)
    assert parsed.status == "final"
    assert resource["subject"] == {"display": "Asha Rao"}
    assert "issued" not in resource  # not released yet
    (observation,) = observations(resource)
    assert observation["valueQuantity"] == {"value": 13.2, "unit": "g/dL"}
    assert observation["referenceRange"] == [
        {"low": {"value": 12, "unit": "g/dL"}, "high": {"value": 15.5, "unit": "g/dL"}}
    ]


def test_a_value_that_is_not_a_number_is_text() -> None:
    report = report_with(
        {"test": "HIV 1/2", "value": "Non-reactive"}, {"test": "x", "value": True}
    )

    first, second = observations(diagnostic_report(report))

    assert first["valueString"] == "Non-reactive" and "valueQuantity" not in first
    assert second["valueString"] == "True"


@pytest.mark.parametrize(
    ("value", "code"), [(2.1, "LL"), (7.2, "HH"), (4.0, None)]
)  # fmt: skip
def test_critical_values_are_flagged(value: float, code: str | None) -> None:
    report = report_with(
        {"test": "Potassium", "value": value, "unit": "mmol/L",
         "critical_low": 2.5, "critical_high": 6.5}
    )  # fmt: skip

    (observation,) = observations(diagnostic_report(report))

    flagged = [
        c["code"] for i in observation.get("interpretation", []) for c in i["coding"]
    ]
    assert flagged == ([code] if code else [])


def test_the_json_is_canonical_and_the_attachment_is_data() -> None:
    report = report_with({"test": "Sodium", "value": 140, "unit": "mmol/L"})

    body = fhir_json(report)
    attachment = fhir_attachment(report)

    assert body == rfc8785.dumps(json.loads(body))
    assert attachment.content == body
    assert (attachment.name, attachment.relationship) == ("report.fhir.json", "Data")


def test_fhir_refuses_what_is_not_a_diagnostic_report() -> None:
    """The validation is real: a resource without its required status fails."""
    resource = diagnostic_report(report_with({"test": "Sodium", "value": 140}))
    del resource["status"]

    with pytest.raises(ValidationError):
        DiagnosticReport.model_validate(resource)
