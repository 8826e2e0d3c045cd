"""`manage.py load_demo_data`: the demo the README promises, idempotent."""

import pytest
from django.core.management import CommandError, call_command
from django_tasks_db.models import DBTaskResult

from admin.account.models import Lab, LabRelation, User
from admin.account.proxies.lab_relation import LabRelations
from core.tenancy import LabScope, trusted_scope
from patients.models import Patient, Report, ReportRelease

pytestmark = pytest.mark.django_db


def in_lab(lab) -> LabScope:
    """The scope of a job acting for `lab`."""
    return trusted_scope(lab.pk)


@pytest.fixture(autouse=True)
def development(settings):
    """The demo is for DEBUG (development) runs; the test runner turns it off."""
    settings.DEBUG = True


def test_it_creates_a_parent_lab_with_two_children_users_and_patients():
    call_command("load_demo_data", stdout=None)

    central = Lab.objects.get(name="Central Reference Lab")
    children = Lab.objects.filter(pk__in=LabRelations.get_child_labs(central.pk))
    assert set(children.values_list("name", flat=True)) == {
        "North Collection Centre",
        "South Collection Centre",
    }
    assert User.objects.get(username="admin").is_superuser
    staff = User.objects.filter(kind=User.Kind.STAFF, is_superuser=False)
    assert staff.count() == 3
    assert User.objects.get(username="dr.mehta").kind == User.Kind.DOCTOR
    assert (
        Patient.objects.in_scope(in_lab(central)).count()
        == Patient.objects.count()
        >= 3
    )


def test_it_makes_a_released_and_a_draft_report_through_the_actions():
    call_command("load_demo_data")

    released = Report.objects.get(title="Complete blood count")
    assert released.status == Report.Status.RELEASED
    assert ReportRelease.objects.filter(report=released).count() == 1
    jobs = DBTaskResult.objects.filter(task_path="patients.release.run_release")
    assert jobs.count() == 1  # the worker renders and stores its PDF
    draft = Report.objects.get(title="Serum electrolytes")
    assert (draft.status, draft.lab.name) == (
        Report.Status.DRAFT,
        "North Collection Centre",
    )
    assert not draft.is_critical and not released.is_critical


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
