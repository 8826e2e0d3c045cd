"""`manage.py load_demo_data`: the demo the README promises, idempotent."""

import pytest
from django.core.management import CommandError, call_command
from django_tasks_db.models import DBTaskResult

from admin.account.models import Lab, LabRelation, User
from admin.account.proxies.lab_relation import LabRelations
from core.fusion.dead_letters import pending_dead_letters, retry_dead_letter
from core.models.webhook import WebhookDelivery
from core.tenancy import LabScope, trusted_scope
from core.utils.clients import get_client
from patients.models import Patient, Report, ReportRelease
from patients.release import run_release
from tests.health_fixtures import use_service
from tests.pdf_fixtures import LOCAL_CLIENT

pytestmark = pytest.mark.django_db


def in_lab(lab) -> LabScope:
    """The scope of a job acting for `lab`."""
    return trusted_scope(lab.pk)


@pytest.fixture(autouse=True)
def development(settings):
    """The demo is for DEBUG (development) runs; the test runner turns it off
    (and with it the loopback webhook receivers DEBUG allows)."""
    settings.DEBUG = True
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True


def test_it_creates_a_lab_network_with_two_children_users_and_patients():
    call_command("load_demo_data", stdout=None)

    central = Lab.objects.get(name="Central Reference Lab")
    children = Lab.objects.filter(pk__in=LabRelations.get_child_labs(central.pk))
    assert set(children.values_list("name", flat=True)) == {
        "North Collection Centre",
        "South Collection Centre",
    }
    assert User.objects.get(username="admin").is_superuser
    staff = User.objects.filter(kind=User.Kind.STAFF, is_superuser=False)
    assert staff.count() == 5
    assert User.objects.get(username="dr.mehta").kind == User.Kind.DOCTOR
    network = Patient.objects.in_scope(in_lab(central))
    assert (
        network.count()
        == Patient.objects.exclude(lab__language__in=["ar", "hi"]).count()
        >= 3
    )


def test_it_makes_a_released_and_a_draft_report_through_the_actions():
    call_command("load_demo_data")

    released = Report.objects.get(title="Complete blood count")
    assert released.status == Report.Status.RELEASED
    assert ReportRelease.objects.filter(report=released).count() == 1
    jobs = DBTaskResult.objects.filter(task_path="patients.release.run_release")
    assert jobs.count() == ReportRelease.objects.count()  # the worker's PDFs
    draft = Report.objects.get(title="Serum electrolytes")
    assert (draft.status, draft.lab.name) == (
        Report.Status.DRAFT,
        "North Collection Centre",
    )
    assert not draft.is_critical and not released.is_critical


def test_it_shows_every_report_state_in_english_arabic_and_hindi_labs():
    """The demo a newcomer clicks through: each state of a report, in labs
    writing each language the reports are translated into."""
    call_command("load_demo_data")

    shown = set(Report.objects.values_list("lab__language", "status"))
    assert {status for _, status in shown} == set(Report.Status.values)
    assert {language for language, _ in shown} == {"en", "ar", "hi"}
    for language in ("ar", "hi"):
        statuses = {
            status for lab_language, status in shown if lab_language == language
        }
        assert Report.Status.RELEASED in statuses or Report.Status.CORRECTED in statuses
    corrected = Report.objects.filter(status=Report.Status.CORRECTED)
    assert all(Report.objects.filter(previous=report).exists() for report in corrected)


def test_its_releases_store_pdfs_record_webhook_deliveries_and_a_dead_letter_retries(
    settings, tmp_path
):
    """What the worker does with the demo (run here job by job): every
    release stores its PDF, the demo lab's subscription gets a delivery per
    release, and the dead letter can be retried."""
    use_service(settings, "s3", LOCAL_CLIENT, base_dir=str(tmp_path / "files"))
    call_command("load_demo_data")

    for release in ReportRelease.objects.all():
        assert run_release.call(release.pk) == "released"
        release.refresh_from_db()
        assert get_client("s3").download(release.pdf_key).startswith(b"%PDF")
    central = Lab.objects.get(name="Central Reference Lab")
    central_releases = ReportRelease.objects.filter(report__lab=central).count()
    deliveries = WebhookDelivery.objects.filter(endpoint__lab=central)
    assert deliveries.count() == central_releases >= 2
    (letter,) = pending_dead_letters()
    assert letter.task_path == "core.utils.slack.jobs.post_slack_message"
    retry_dead_letter(letter.pk)
    assert not pending_dead_letters().exists()


def test_without_loopback_receivers_the_demo_goes_without_its_subscription(
    settings, capsys
):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False

    call_command("load_demo_data")

    assert "skipped  webhook subscription" in capsys.readouterr().out
    assert Report.objects.filter(status=Report.Status.RELEASED).exists()


MODELS = (Lab, LabRelation, User, Patient, Report, ReportRelease, DBTaskResult)


def test_running_it_twice_changes_nothing():
    call_command("load_demo_data")
    counts = [m.objects.count() for m in MODELS]
    versions = sorted(Patient.objects.values_list("version", flat=True))
    statuses = sorted(Report.objects.values_list("status", "version"))

    call_command("load_demo_data")

    assert [m.objects.count() for m in MODELS] == counts
    assert sorted(Patient.objects.values_list("version", flat=True)) == versions
    assert sorted(Report.objects.values_list("status", "version")) == statuses


def test_it_refuses_to_run_in_production(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG"):
        call_command("load_demo_data")

    assert not User.objects.exists()


def test_the_demo_admin_can_sign_in_and_see_the_patients(client):
    call_command("load_demo_data")

    assert client.login(username="admin", password="admin")
    response = client.get("/admin/patients/patient/")

    assert response.status_code == 200
    assert f"{Patient.objects.count()} patients" in response.content.decode()
