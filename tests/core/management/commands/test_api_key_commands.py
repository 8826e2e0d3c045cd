"""`manage.py create_api_key` prints a working key once; `revoke_api_key`
refuses it from then on. Both are activity-logged as the command."""

import io

import pytest
from django.core.management import CommandError, call_command

from core.models import ActivityLog, ApiKey
from core.models.api_key import ApiKeyRefused

pytestmark = pytest.mark.django_db


def run(command: str, *args: str) -> str:
    out = io.StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def test_create_prints_the_key_once_and_it_works(labs):
    out = run("create_api_key", "--lab", str(labs["north"].pk), "--name", " HIS ")

    notice, text = out.splitlines()
    api_key = ApiKey.objects.get()
    assert notice == (
        f"API key {api_key.prefix} for lab {labs['north'].pk} (North), 'HIS'. "
        "Copy it now; it will not be shown again:"
    )
    assert ApiKey.authenticate(text).pk == api_key.pk
    assert api_key.name == "HIS"
    entry = ActivityLog.objects.get(model_label="core.apikey", action="create")
    assert entry.actor_id == "command:create_api_key"


@pytest.mark.parametrize(
    ("lab", "name", "error"),
    [
        ("unknown", "HIS", "There is no lab 999999; pass the id of an existing lab."),
        ("inactive", "HIS", "is deactivated; its keys would not work."),
        ("north", "  ", "--name is empty; say what will use the key."),
    ],
)
def test_create_refuses_what_would_not_work(labs, lab, name, error):
    labs["south"].is_active = False
    labs["south"].save()
    lab_id = {"unknown": 999999, "inactive": labs["south"].pk}.get(
        lab, labs["north"].pk
    )

    with pytest.raises(CommandError, match=error):
        run("create_api_key", "--lab", str(lab_id), "--name", name)
    assert not ApiKey.objects.exists()


@pytest.mark.parametrize("given", ["prefix", "whole key"])
def test_revoke_by_prefix_or_by_the_whole_key(labs, given):
    api_key, text = ApiKey.create(labs["north"], "HIS")
    argument = api_key.prefix if given == "prefix" else text

    out = run("revoke_api_key", argument, "--reason", "analyser replaced")
    again = run("revoke_api_key", api_key.prefix)

    assert out == f"API key {api_key.prefix} (HIS) revoked.\n"
    assert again == f"API key {api_key.prefix} (HIS) was already revoked.\n"
    with pytest.raises(ApiKeyRefused, match="revoked"):
        ApiKey.authenticate(text)
    entry = ActivityLog.objects.get(model_label="core.apikey", action="update")
    assert (entry.actor_id, entry.reason) == (
        "command:revoke_api_key",
        "analyser replaced",
    )


def test_revoking_an_unknown_prefix_says_where_to_find_one(db):
    with pytest.raises(CommandError, match="No API key has the prefix 'abc'"):
        run("revoke_api_key", "abc")
