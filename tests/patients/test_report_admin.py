"""A released report that the admin could not edit, correct or delete
without a 500 or developer wording: editing asks for the reason (refused
without one, kept in the History with one), "Correct…" asks why and issues
a new edition, deleting says in plain words why it is refused, the Results
box says what it holds, and the site names the product."""

from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import formats, timezone

from admin.account.models import Lab, User
from patients.actions import release_report, verify_report
from patients.admin.report_admin import RESULTS_HELP
from patients.models import Patient, Report

pytestmark = pytest.mark.django_db

HB = {"test": "Haemoglobin", "value": 13.5, "unit": "g/dL"}


@pytest.fixture
def admin_client(client):
    user = User.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(user)
    return client


def new_report(lab: Lab, title: str = "CBC") -> Report:
    patient = Patient(lab=lab, first_name="Asha", last_name="Rao", sex="F")
    patient.save()
    report = Report(lab=lab, patient=patient, title=title, results=[HB])
    report.save()
    return report


@pytest.fixture
def released(labs) -> Report:
    report = new_report(labs["north"])
    verify_report(report)
    release_report(report)
    return report


def change_url(report: Report) -> str:
    return reverse("admin:patients_report_change", args=[report.pk])


def report_form(report: Report, **changes: str) -> dict:
    return {
        "lab": report.lab_id,
        "patient": report.patient_id,
        "title": report.title,
        "results": '[{"test": "Haemoglobin", "value": 13.5, "unit": "g/dL"}]',
        "loaded_version": report.version,
        **changes,
    }


# -- editing a released report ---------------------------------------------------


def test_editing_a_released_report_without_a_reason_is_a_form_error(
    admin_client, released
):
    response = admin_client.post(
        change_url(released), report_form(released, title="Full blood count")
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["change_reason"] == ["This field is required."]
    released.refresh_from_db()
    assert (released.title, released.version) == ("CBC", 3)


def test_editing_a_released_report_with_a_reason_saves_it_with_the_reason(
    admin_client, released
):
    response = admin_client.post(
        change_url(released),
        report_form(
            released, title="Full blood count", change_reason="Title per new menu"
        ),
    )

    assert response.status_code == 302
    released.refresh_from_db()
    assert released.title == "Full blood count"
    entry = Report.get_activities(released.pk, lab_id=released.lab_id).entries[0]
    assert (entry.reason, entry.changes["title"]["new"]) == (
        "Title per new menu",
        "Full blood count",
    )


def test_the_reason_field_is_required_only_where_the_rule_applies(
    admin_client, released, labs
):
    draft = new_report(labs["north"], "Lipid profile")

    on_released = admin_client.get(change_url(released)).context["adminform"].form
    on_draft = admin_client.get(change_url(draft)).context["adminform"].form
    adding = admin_client.get(reverse("admin:patients_report_add"))

    assert on_released.fields["change_reason"].required is True
    assert on_draft.fields["change_reason"].required is False
    assert "change_reason" not in adding.context["adminform"].form.fields
    assert (
        "Reason for this change"
        in admin_client.get(change_url(released)).content.decode()
    )


def test_the_results_box_says_what_it_holds(admin_client, released):
    page = admin_client.get(change_url(released))

    form = page.context["adminform"].form
    assert form.fields["results"].help_text == RESULTS_HELP
    assert '"critical_low"' in RESULTS_HELP
    # The admin prints help texts as they are (its template marks them safe).
    assert '"test" and "value" are required' in page.content.decode()


# -- "Correct…" --------------------------------------------------------------------


def correct(admin_client, *reports: Report, **data: str):
    return admin_client.post(
        reverse("admin:patients_report_changelist"),
        {
            "action": "correct_reports",
            "_selected_action": [report.pk for report in reports],
            **data,
        },
        follow=True,
    )


def test_correct_first_asks_for_the_reason_and_changes_nothing(admin_client, released):
    asked = correct(admin_client, released)
    empty = correct(admin_client, released, apply="Correct", reason=" ")

    assert "Why are these reports corrected?" in asked.content.decode()
    assert "CBC (edition 1)" in asked.content.decode()
    assert empty.context["form"].errors["reason"] == ["This field is required."]
    released.refresh_from_db()
    assert released.status == Report.Status.RELEASED
    assert not Report.objects.filter(previous=released).exists()


def test_correct_with_a_reason_issues_a_new_edition(admin_client, released):
    response = correct(
        admin_client, released, apply="Correct", reason="Haemoglobin re-run"
    )

    released.refresh_from_db()
    edition = Report.objects.get(previous=released)
    assert released.status == Report.Status.CORRECTED
    assert (edition.edition, edition.status) == (2, Report.Status.DRAFT)
    html = response.content.decode()
    assert "“CBC (edition 1)” was corrected. Its new edition 2 is a draft" in html
    assert f'href="{change_url(edition)}"' in html
    entry = Report.get_activities(released.pk, lab_id=released.lab_id).entries[0]
    assert entry.reason == "Haemoglobin re-run"


def test_correct_names_a_report_that_is_not_released_in_plain_words(
    admin_client, released, labs
):
    draft = new_report(labs["north"], "Lipid profile")

    response = correct(admin_client, draft, released, apply="Correct", reason="Re-run")

    html = response.content.decode()
    assert (
        "“Lipid profile (edition 1)” was not corrected: only a released report "
        "is corrected, and this one is draft."
    ) in html
    assert Report.objects.filter(previous=released).count() == 1
    draft.refresh_from_db()
    assert draft.status == Report.Status.DRAFT


# -- deleting ------------------------------------------------------------------------


def test_deleting_a_released_report_says_why_not_in_plain_words(admin_client, released):
    response = admin_client.get(
        reverse("admin:patients_report_delete", args=[released.pk]), follow=True
    )

    assert response.redirect_chain[-1][0] == change_url(released)
    html = response.content.decode()
    assert "a released report stays on record" in html
    assert "Correct…" in html
    assert "protected related objects" not in html
    assert Report.objects.filter(pk=released.pk).exists()


def test_delete_selected_with_a_released_report_deletes_nothing(
    admin_client, released, labs
):
    draft = new_report(labs["north"], "Lipid profile")

    response = admin_client.post(
        reverse("admin:patients_report_changelist"),
        {"action": "delete_selected", "_selected_action": [draft.pk, released.pk]},
        follow=True,
    )

    html = response.content.decode()
    assert "a released report stays on record" in html
    assert "Nothing was deleted." in html
    assert "protected related objects" not in html
    assert Report.objects.count() == 2


def test_a_draft_report_is_still_deleted(admin_client, labs):
    draft = new_report(labs["north"], "Lipid profile")

    response = admin_client.post(
        reverse("admin:patients_report_delete", args=[draft.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert not Report.objects.filter(pk=draft.pk).exists()


# -- words ---------------------------------------------------------------------------


def test_a_refused_status_change_says_what_to_do_in_plain_words(admin_client, labs):
    draft = new_report(labs["north"])

    response = admin_client.post(
        reverse("admin:patients_report_changelist"),
        {"action": "release_reports", "_selected_action": [draft.pk]},
        follow=True,
    )

    html = response.content.decode()
    assert (
        "CBC (edition 1) was not released: A draft report cannot become "
        "released. A draft is verified first, then released."
    ) in html
    for developer_word in ("patients.actions", "correct_report)", "release()"):
        assert developer_word not in html


def test_the_site_names_the_product(admin_client):
    page = admin_client.get(reverse("admin:index"))

    html = page.content.decode()
    assert "LIS administration" in html
    assert "Django administration" not in html


def test_correct_is_offered_on_a_released_reports_own_page(admin_client, released):
    page = admin_client.get(change_url(released)).content.decode()
    asked = admin_client.post(
        change_url(released),
        {"CHANGE_FORM-action": "correct_reports", "_selected_action": [released.pk]},
    )
    done = admin_client.post(
        change_url(released),
        {
            "CHANGE_FORM-action": "correct_reports",
            "_selected_action": [released.pk],
            "apply": "Correct",
            "reason": "Haemoglobin re-run",
        },
    )

    assert '<option value="correct_reports">Correct…</option>' in page
    assert 'name="CHANGE_FORM-action" value="correct_reports"' in (
        asked.content.decode()
    )
    assert done.status_code == 302
    released.refresh_from_db()
    assert released.status == Report.Status.CORRECTED
    assert Report.objects.get(previous=released).edition == 2


def test_the_change_page_reads_on_the_labs_clock(admin_client, labs):
    kolkata = Lab(name="Kolkata Centre", time_zone="Asia/Kolkata", country="IN")
    kolkata.save()
    report = new_report(kolkata)
    verify_report(report)
    release_report(report)
    with timezone.override(ZoneInfo("Asia/Kolkata")):
        on_the_labs_clock = formats.localize(
            timezone.template_localtime(report.released_at)
        )
    in_utc = formats.localize(timezone.template_localtime(report.released_at))

    html = admin_client.get(change_url(report)).content.decode()

    assert on_the_labs_clock != in_utc
    assert on_the_labs_clock in html
    assert in_utc not in html
