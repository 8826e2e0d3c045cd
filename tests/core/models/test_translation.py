"""LabTranslation: validation with messages for people, one row per lab, key
and language, every change in the activity log, and its admin pages."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from admin.account.models import User
from core.models import ActivityLog, LabTranslation
from core.models.translation import report_text_key_choices
from core.utils.translation import REPORT_TEXTS

pytestmark = pytest.mark.django_db


def errors_of(row: LabTranslation) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as error:
        row.save()
    return error.value.message_dict


def test_an_override_is_saved_trimmed_and_logged_with_its_lab(labs):
    row = LabTranslation(
        lab=labs["north"], key="report.patient_name", language="ar", text=" الاسم "
    )

    row.save()
    row.text = "اسم المراجع"
    row.save(reason="The lab's preferred wording")

    entries = ActivityLog.objects.filter(
        model_label="core.labtranslation", instance_id=str(row.pk)
    ).order_by("id")
    assert [entry.action for entry in entries] == ["create", "update"]
    assert {entry.lab_id for entry in entries} == {labs["north"].pk}
    assert entries[0].changes["text"] == {"old": None, "new": "الاسم"}
    assert entries[1].changes["text"] == {"old": "الاسم", "new": "اسم المراجع"}
    assert entries[1].reason == "The lab's preferred wording"
    assert str(row) == "report.patient_name (ar)"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"key": "report.nope"}, "key", "Choose one of: message.critical_value"),
        ({"language": "fr"}, "language", "Choose one of: en, ar, hi"),
        ({"text": ""}, "text", "This field is required."),
        ({"text": "   "}, "text", "This field is required."),  # whitespace is no text
        ({"text": "x" * 1001}, "text", "at most 1000 characters"),
        ({"key": "report.page_of", "text": "पृष्ठ %(page)s"}, "text", "%(pages)s"),
        ({"text": "रिपोर्ट %(page)s"}, "text", "exactly these placeholders: none"),
    ],
)
def test_a_bad_override_is_refused_with_what_would_be_right(
    labs, fields, field, message
):
    values = {"key": "report.title", "language": "hi", "text": "रिपोर्ट", **fields}

    errors = errors_of(LabTranslation(lab=labs["north"], **values))

    assert message in " ".join(errors[field])
    assert not LabTranslation.objects.exists()


def test_an_override_must_belong_to_a_lab():
    errors = errors_of(LabTranslation(key="report.title", language="en", text="R"))

    assert errors["lab"] == ["This field is required."]


def test_a_lab_has_one_override_per_key_and_language(labs):
    LabTranslation(
        lab=labs["north"], key="report.unit", language="ar", text="وحدة"
    ).save()
    LabTranslation(
        lab=labs["south"], key="report.unit", language="ar", text="وحدة"
    ).save()
    LabTranslation(
        lab=labs["north"], key="report.unit", language="hi", text="इकाई"
    ).save()

    with pytest.raises(ValidationError) as refused:
        LabTranslation(
            lab=labs["north"], key="report.unit", language="ar", text="الوحدة"
        ).save()
    assert refused.value.messages == [
        "A lab translation with this key and language already exists in this lab."
    ]


def test_the_key_choices_are_the_catalogue():
    assert [key for key, _ in report_text_key_choices()] == sorted(REPORT_TEXTS)


# -- admin --------------------------------------------------------------------


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("root", "r@example.com", "pw"))
    return client


def test_the_admin_adds_and_lists_overrides(admin_client, labs):
    add = admin_client.post(
        reverse("admin:core_labtranslation_add"),
        {
            "lab": labs["north"].pk,
            "key": "report.released_by",
            "language": "hi",
            "text": "सत्यापनकर्ता",
        },
    )
    listing = admin_client.get(reverse("admin:core_labtranslation_changelist"))

    assert add.status_code == 302
    row = LabTranslation.objects.get()
    assert (row.lab_id, row.text) == (labs["north"].pk, "सत्यापनकर्ता")
    assert "सत्यापनकर्ता" in listing.content.decode()


def test_the_admin_shows_model_and_uniqueness_errors_on_the_form(admin_client, labs):
    LabTranslation(
        lab=labs["north"], key="report.title", language="en", text="Report"
    ).save()
    url = reverse("admin:core_labtranslation_add")
    form = {"lab": labs["north"].pk, "key": "report.page_of", "language": "en"}

    placeholders = admin_client.post(url, {**form, "text": "Page %(page)s"})
    duplicate = admin_client.post(url, {**form, "key": "report.title", "text": "R"})

    assert placeholders.status_code == 200
    assert "exactly these placeholders" in placeholders.content.decode()
    assert duplicate.status_code == 200
    assert "already exists" in duplicate.content.decode()
    assert LabTranslation.objects.count() == 1
