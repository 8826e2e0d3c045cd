"""`manage.py check` reports a misconfigured service before it is used."""

import pytest

from core.checks import check_services, check_stand_ins

pytestmark = pytest.mark.engine_independent


def test_the_configured_services_pass():
    assert check_services() == []


def test_a_bad_service_entry_is_reported_with_its_name(settings):
    settings.SERVICES = {
        "no_backend": {"OPTIONS": {}},
        "missing": {"BACKEND": "core.utils.nowhere.Client"},
        "not_a_client": {"BACKEND": "collections.OrderedDict"},
        "bad_options": {"BACKEND": "core.cache.HashCache", "OPTIONS": ["x"]},
    }

    found = {(message.id, message.msg.split("]")[0]) for message in check_services()}

    assert found == {
        ("core.E001", "settings.SERVICES['no_backend'"),
        ("core.E002", "settings.SERVICES['missing'"),
        ("core.E003", "settings.SERVICES['not_a_client'"),
        ("core.E004", "settings.SERVICES['bad_options'"),
    }


# -- stand-ins in production ----------------------------------------------------


def test_production_on_an_unchosen_stand_in_fails_the_check_naming_it(settings):
    # Given DEBUG off (the test runner's) and no stand-in chosen
    settings.LOCAL_SERVICES = []

    errors = {message.msg.split("]")[0]: message for message in check_stand_ins()}

    # then each embedded-default stand-in is an error saying what it means
    slack = errors["settings.SERVICES['slack'"]
    assert slack.id == "core.E040"
    assert "LogSlackClient" in slack.msg and "only be written to the log" in slack.msg
    assert "LIS_LOCAL_SERVICES=slack" in slack.hint
    assert set(errors) == {
        f"settings.SERVICES[{name!r}"
        for name in ("cache", "docdb", "es", "pusher", "s3", "slack")
    }


def test_a_stand_in_chosen_by_name_passes_and_an_unknown_name_is_refused(settings):
    settings.LOCAL_SERVICES = ["cache", "docdb", "es", "pusher", "s3", "slack", "sms"]

    [error] = check_stand_ins()

    assert error.id == "core.E041"
    assert "sms" in error.msg


def test_in_debug_the_embedded_defaults_need_no_choice(settings):
    settings.DEBUG = True
    settings.LOCAL_SERVICES = []

    assert check_stand_ins() == []
