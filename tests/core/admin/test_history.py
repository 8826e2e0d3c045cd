"""A record's History that reads as the database stores it ("WHEN (UTC)",
`sex: F`, `lab: — → 1`) instead of as a lab person expects: times on the
record's lab's clock with its zone, choice labels, related rows by name
(one query per related model, and only rows of the reader's labs; the
entries still store ids), and breadcrumbs drawn like the admin's own."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from admin.account.models import Lab, User
from core.activity_log.models import ActivityLog
from core.admin.change_display import ChangeReader, FieldChange
from patients.models import Patient, Report
from tests.core.middleware.fixtures import make_user, sign_in

pytestmark = pytest.mark.django_db

KOLKATA = ZoneInfo("Asia/Kolkata")


@pytest.fixture
def admin_client(client):
    user = User.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(user)
    return client


@pytest.fixture
def centre() -> Lab:
    lab = Lab(name="North Collection Centre", time_zone="Asia/Kolkata", country="IN")
    lab.save()
    return lab


@pytest.fixture
def patient(centre) -> Patient:
    made = Patient(lab=centre, first_name="Asha", last_name="Rao", sex="F")
    made.save()
    return made


def history(client, record) -> str:
    opts = record._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_history", args=[record.pk])
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_history_shows_labels_and_names_where_entries_store_codes_and_ids(
    admin_client, patient, centre
):
    html = history(admin_client, patient)

    assert "sex: — &rarr; Female" in html
    assert "lab: — &rarr; North Collection Centre" in html
    created = ActivityLog.objects.get(
        model_label="patients.patient", action="create", instance_id=str(patient.pk)
    )
    assert created.changes["sex"]["new"] == "F"
    assert created.changes["lab"]["new"] == centre.pk


def test_history_times_are_on_the_labs_clock_with_its_zone(admin_client, patient):
    created = ActivityLog.objects.get(
        model_label="patients.patient", action="create", instance_id=str(patient.pk)
    )
    local = created.created_at.astimezone(KOLKATA)

    html = history(admin_client, patient)

    assert "When (Asia/Kolkata)" in html
    assert "(UTC)" not in html
    assert local.strftime("%Y-%m-%d %H:%M:%S IST") in html


def test_a_reports_history_names_its_patient(admin_client, patient, centre):
    report = Report(lab=centre, patient=patient, title="CBC")
    report.save()

    html = history(admin_client, report)

    assert "patient: — &rarr; Asha Rao" in html
    assert "status: — &rarr; Draft" in html


def test_rows_outside_the_readers_labs_show_as_ids(client, labs, centre, patient):
    report = Report(lab=centre, patient=patient, title="CBC")
    report.save()
    reader = make_user("south.staff", labs["south"], is_staff=True)
    reader.user_permissions.add(Permission.objects.get(codename="view_report"))
    assert sign_in(client, "south.staff").status_code == 200

    html = history(client, report)

    assert f"patient: — &rarr; #{patient.pk}" in html
    assert f"lab: — &rarr; #{centre.pk}" in html
    assert "Asha Rao" not in html and "North Collection Centre" not in html


def test_the_breadcrumbs_are_the_admins_own_list(admin_client, patient):
    html = history(admin_client, patient)

    assert '<nav aria-label="Breadcrumbs">' in html
    assert '<ol class="breadcrumbs">' in html
    assert '<li aria-current="page">History</li>' in html
    assert '<div class="breadcrumbs">' not in html


def test_names_are_read_in_one_query_per_related_model(
    django_assert_num_queries, labs, centre, patient
):
    other = Patient(lab=labs["north"], first_name="Ben", sex="M")
    other.save()
    changes = [
        {"patient": {"old": None, "new": patient.pk}, "lab": {"new": centre.pk}},
        {"patient": {"old": patient.pk, "new": other.pk}},
        {"lab": {"old": centre.pk, "new": labs["north"].pk}, "title": "CBC"},
    ]
    reader = ChangeReader(Report, lab_ids=None, zone=KOLKATA)

    with django_assert_num_queries(2):  # patients, labs
        described = reader.describe(changes)

    assert described == [
        (
            FieldChange("patient", "—", "Asha Rao"),
            FieldChange("lab", "—", "North Collection Centre"),
        ),
        (FieldChange("patient", "Asha Rao", "Ben"),),
        (
            FieldChange("lab", "North Collection Centre", "North"),
            FieldChange("title", "—", "CBC"),
        ),
    ]


def test_logged_instants_read_on_the_same_clock():
    reader = ChangeReader(Report, lab_ids=(), zone=KOLKATA)
    instant = dt.datetime(2026, 12, 4, 7, 10, 3, tzinfo=dt.UTC)

    [(change,)] = reader.describe([{"released_at": {"new": str(instant)}}])

    assert change == FieldChange("released at", "—", "2026-12-04 12:40:03 IST")
