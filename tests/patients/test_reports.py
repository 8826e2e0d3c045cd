"""Reports (patients/models/reports.py): the status lifecycle, reasons for changing
a released report, corrections as new editions, and result checks."""

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from core.models import ActivityLog
from patients.actions import correct_report, release_report, verify_report
from patients.models import Patient, Report, ReportRelease
from patients.models.reports import is_critical

pytestmark = pytest.mark.django_db

HB = {"test": "Haemoglobin", "value": 13.5, "unit": "g/dL", "low": 12, "high": 16,
      "critical_low": 7, "critical_high": 20}  # fmt: skip


@pytest.fixture
def report(labs) -> Report:
    patient = Patient(lab=labs["north"], first_name="Asha", sex="F")
    patient.save()
    made = Report(lab=labs["north"], patient=patient, title="CBC", results=[HB])
    made.save()
    return made


def test_a_report_goes_draft_verified_released(report):
    verify_report(report)
    release_report(report)

    report.refresh_from_db()
    assert report.status == Report.Status.RELEASED
    assert report.released_at is not None
    assert ReportRelease.objects.filter(report=report).count() == 1


def test_a_draft_cannot_skip_verification(report):
    report.status = Report.Status.RELEASED

    with pytest.raises(ValidationError) as refused:
        report.save()

    assert "status" in refused.value.message_dict


def test_a_released_report_changes_only_with_a_reason(report):
    verify_report(report)
    release_report(report)
    report.title = "Complete blood count"

    with pytest.raises(ValidationError):
        report.save()
    report.save(reason="Title typo")

    entry = ActivityLog.objects.filter(model_label="patients.report").latest("id")
    assert entry.reason == "Title typo"


def test_a_correction_is_a_new_edition_pointing_to_the_released_one(report):
    verify_report(report)
    release_report(report)

    edition = correct_report(report, reason="Haemoglobin re-run")

    report.refresh_from_db()
    assert report.status == Report.Status.CORRECTED
    assert (edition.edition, edition.previous_id, edition.status) == (
        2, report.pk, Report.Status.DRAFT
    )  # fmt: skip
    assert edition.results == report.results


def test_a_release_rolled_back_leaves_no_release_and_no_job(report):
    verify_report(report)

    with pytest.raises(RuntimeError), transaction.atomic():
        release_report(report)
        raise RuntimeError("the request failed after release()")

    assert not ReportRelease.objects.exists()
    report.refresh_from_db()
    assert report.status == Report.Status.VERIFIED


@pytest.mark.parametrize(
    "results, problem",
    [
        ({"test": "x"}, "list"),
        ([{"test": "Hb"}], "test and a value"),
        ([{**HB, "colour": "red"}], "unknown keys"),
        ([{**HB, "low": "twelve"}], "low must be a number"),
    ],
)
def test_malformed_results_are_refused_with_a_reason(report, results, problem):
    report.results = results

    with pytest.raises(ValidationError) as refused:
        report.save()

    assert problem in str(refused.value.message_dict["results"])


def test_a_patient_of_another_lab_is_refused(report, labs):
    stranger = Patient(lab=labs["south"], first_name="Ravi", sex="M")
    stranger.save()
    report.patient = stranger

    with pytest.raises(ValidationError) as refused:
        report.save()

    assert "patient" in refused.value.message_dict


@pytest.mark.parametrize(
    "value, critical",
    [(13.5, False), (6.9, True), (20.1, True), ("haemolysed", False), (True, False)],
)
def test_critical_values_are_those_outside_the_critical_bounds(value, critical):
    assert is_critical({**HB, "value": value}) is critical
