"""`manage.py check` reports a misconfigured service before it is used."""

from core.checks import check_services


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
