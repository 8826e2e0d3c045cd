"""A report's Timeline that reads as stored ("When (UTC)", `status:
draft`, `patient: 4`) and that says nothing while a released report's PDF
waits for a job worker: times are on the report's lab's clock with its
zone, values are labels and names (among the reader's labs), and a release
whose PDF is not made yet shows "PDF waiting for the job worker" until the
job runs."""

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from admin.account.models import Lab, User
from core.utils.aws.client import LocalFileS3Client
from core.utils.clients import get_client, registry
from patients.actions import release_report, verify_report
from patients.models import Patient, Report, ReportRelease
from patients.release import run_release
from patients.timeline import Kind, PdfWaitingDetail, report_timeline

pytestmark = pytest.mark.django_db


@pytest.fixture
def storage(settings: Any, tmp_path: Any) -> LocalFileS3Client:
    """Files in a temporary folder, served by /core/files/."""
    settings.SERVICES = {
        **settings.SERVICES,
        "s3": {
            "BACKEND": "core.utils.aws.client.LocalFileS3Client",
            "OPTIONS": {"base_dir": str(tmp_path / "files")},
        },
    }
    registry.reset()
    client = get_client("s3")
    assert isinstance(client, LocalFileS3Client)
    return client


@pytest.fixture
def released(storage: LocalFileS3Client) -> Report:
    """A CBC of Asha Rao at a Kolkata lab, released; its job not run yet."""
    lab = Lab(name="North Collection Centre", time_zone="Asia/Kolkata", country="IN")
    lab.save()
    patient = Patient(lab=lab, first_name="Asha", last_name="Rao", sex="F")
    patient.save()
    report = Report(
        lab=lab, patient=patient, title="CBC",
        results=[{"test": "Haemoglobin", "value": 13.5}],
    )  # fmt: skip
    report.save()
    verify_report(report)
    release_report(report)
    return report


@pytest.fixture
def admin_client(client: Client) -> Client:
    client.force_login(User.objects.create_superuser("root", "r@example.com", "pw"))
    return client


def timeline_page(client: Client, report: Report) -> str:
    url = reverse("admin:patients_report_timeline", args=[report.pk])
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_a_released_pdf_not_made_yet_waits_for_the_job_worker(released):
    items = report_timeline(released)

    waiting = [item for item in items if item.kind == Kind.PDF_WAITING]
    assert len(waiting) == 1
    assert isinstance(waiting[0].detail, PdfWaitingDetail)
    assert waiting[0].at == ReportRelease.objects.get(report=released).created_at
    assert not [item for item in items if item.kind == Kind.PDF]


def test_once_the_job_ran_the_pdf_is_stored_and_nothing_waits(released):
    run_release.call(ReportRelease.objects.get(report=released).pk)

    items = report_timeline(released)

    assert [item.kind for item in items if item.kind.startswith("pdf")] == [Kind.PDF]


def test_the_page_shows_the_waiting_pdf(admin_client, released):
    html = timeline_page(admin_client, released)

    assert "PDF waiting for the job worker" in html
    assert 'class="timeline-pdf_waiting"' in html
    assert "Download PDF" not in html


def test_the_page_reads_on_the_labs_clock_with_labels_and_names(admin_client, released):
    created = Report.get_activities(released.pk, lab_id=released.lab_id).entries[-1]
    local = created.created_at.astimezone(released.lab.zone)

    html = timeline_page(admin_client, released)

    assert "When (Asia/Kolkata)" in html
    assert "(UTC)" not in html
    assert local.strftime("%Y-%m-%d %H:%M:%S IST") in html
    assert "status: Draft &rarr; Verified" in html
    assert "patient: — &rarr; Asha Rao" in html
    assert "lab: — &rarr; North Collection Centre" in html
