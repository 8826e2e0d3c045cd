"""A model rule that reaches the admin as a 500: every `ValidationError`
the model raises, at clean time or from `save()` itself, is shown on the
admin's form (on the field when the form shows it, else as an error that
names the field), and nothing is written.

`GuardedInstrument` (tests/lifecycle) refuses the name "Refused" in
`before_save`, after `validate()` passed: the path of a hook's rule or a
lost race, which the form cannot check ahead."""

import pytest
from django.urls import reverse

from admin.account.models import User
from core.activity_log.models import ActivityLog
from tests.lifecycle.models import GuardedInstrument

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.core.admin.guarded_site")]


@pytest.fixture
def admin_client(client):
    user = User.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(user)
    return client


@pytest.fixture
def instrument() -> GuardedInstrument:
    made = GuardedInstrument(name="Sysmex XN", serial="XN-1")
    made.save()
    return made


def change_url(instrument: GuardedInstrument) -> str:
    return reverse(
        "guarded:lifecycle_tests_guardedinstrument_change", args=[instrument.pk]
    )


def form_data(instrument: GuardedInstrument, **changes: str) -> dict:
    return {
        "name": instrument.name,
        "serial": instrument.serial,
        "loaded_version": instrument.version,
        **changes,
    }


def test_a_refusal_from_save_is_shown_on_the_form_and_nothing_is_written(
    admin_client, instrument
):
    response = admin_client.post(
        change_url(instrument), form_data(instrument, name="Refused")
    )

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors["name"] == ["This name is taken by a retired analyser."]
    assert form.non_field_errors() == [
        # channels is read-only here: named in words, not lost or a 500.
        "Channels: Channels cannot be set while the name is refused.",
        "The analyser is being calibrated.",
    ]
    html = response.content.decode()
    assert "This name is taken by a retired analyser." in html
    instrument.refresh_from_db()
    assert (instrument.name, instrument.version) == ("Sysmex XN", 1)
    assert ActivityLog.objects.filter(action="update").count() == 0


def test_the_form_shown_again_keeps_what_was_typed_and_saves_once_fixed(
    admin_client, instrument
):
    refused = admin_client.post(
        change_url(instrument), form_data(instrument, name="Refused", serial="XN-2")
    )
    fixed = admin_client.post(
        change_url(instrument), form_data(instrument, name="Sysmex XN-L", serial="XN-2")
    )

    assert 'value="XN-2"' in refused.content.decode()
    assert fixed.status_code == 302
    instrument.refresh_from_db()
    assert (instrument.name, instrument.serial) == ("Sysmex XN-L", "XN-2")


def test_adding_a_record_the_save_refuses_shows_the_form_again(admin_client):
    response = admin_client.post(
        reverse("guarded:lifecycle_tests_guardedinstrument_add"),
        {"name": "Refused", "serial": "XN-9"},
    )

    assert response.status_code == 200
    assert "This name is taken by a retired analyser." in response.content.decode()
    assert not GuardedInstrument.objects.exists()


def test_a_model_that_never_needs_a_reason_has_no_reason_field(
    admin_client, instrument
):
    page = admin_client.get(change_url(instrument))

    assert page.status_code == 200
    assert "change_reason" not in page.context["adminform"].form.fields


def test_a_delete_the_model_refuses_is_a_message_not_a_500(admin_client):
    locked = GuardedInstrument(name="Cobas", serial=GuardedInstrument.LOCKED_SERIAL)
    locked.save()

    response = admin_client.post(
        reverse("guarded:lifecycle_tests_guardedinstrument_delete", args=[locked.pk]),
        {"post": "yes"},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == change_url(locked)
    assert (
        f"{locked} was not deleted: The analyser is locked; unlock it first."
        in response.content.decode()
    )
    assert GuardedInstrument.objects.filter(pk=locked.pk).exists()


def test_an_edit_landing_between_the_check_and_the_write_is_a_form_error(
    admin_client, instrument
):
    response = admin_client.post(
        change_url(instrument), form_data(instrument, name=GuardedInstrument.RACED_NAME)
    )

    assert response.status_code == 200
    [error] = response.context["adminform"].form.non_field_errors()
    assert "was changed by someone else since you loaded it" in error
    instrument.refresh_from_db()
    assert instrument.name == "Sysmex XN"


def test_delete_selected_that_the_model_refuses_deletes_nothing(admin_client):
    free = GuardedInstrument(name="Sysmex", serial="XN-1")
    free.save()
    locked = GuardedInstrument(name="Cobas", serial=GuardedInstrument.LOCKED_SERIAL)
    locked.save()

    response = admin_client.post(
        reverse("guarded:lifecycle_tests_guardedinstrument_changelist"),
        {
            "action": "delete_selected",
            "_selected_action": [free.pk, locked.pk],
            "post": "yes",
        },
        follow=True,
    )

    assert response.status_code == 200
    assert (
        "Nothing was deleted: The analyser is locked; unlock it first."
        in response.content.decode()
    )
    assert GuardedInstrument.objects.count() == 2
