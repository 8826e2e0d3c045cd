"""ApiKey: made once and shown once, stored as a digest, refused once revoked,
and its last use kept to the minute with one write."""

import datetime as dt
import hashlib
import re
import secrets

import pytest
from django.utils import timezone

from core.models import ActivityLog, ApiKey
from core.models.api_key import (
    LAST_USED_RESOLUTION_SECONDS,
    PREFIX_HEX_DIGITS,
    ApiKeyRefused,
)

pytestmark = pytest.mark.django_db

KEY_SHAPE = re.compile(r"^lis_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$")


def test_a_key_is_returned_once_and_only_its_digest_is_stored(labs):
    api_key, text = ApiKey.create(labs["north"], "Analyser bridge")

    assert KEY_SHAPE.match(text)
    secret = text.split("_", 2)[2]
    assert api_key.prefix == text[4:16]
    assert api_key.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    row = ApiKey.objects.filter(pk=api_key.pk).values().get()
    assert not any(secret in str(value) for value in row.values())
    assert secret not in str(api_key) and secret not in repr(api_key)
    assert str(api_key) == f"Analyser bridge (lis_{api_key.prefix}_…)"


def test_its_creation_is_logged_with_the_digest_masked(labs):
    api_key, _ = ApiKey.create(labs["north"], "Analyser bridge")

    entry = ActivityLog.objects.get(model_label="core.apikey", action="create")
    assert entry.instance_id == str(api_key.pk)
    assert entry.lab_id == labs["north"].pk
    assert entry.changes["secret_hash"] == {"old": None, "new": "***"}
    assert api_key.secret_hash not in str(entry.changes)


def test_the_key_authenticates_with_its_lab_in_one_query(
    labs, django_assert_num_queries
):
    api_key, text = ApiKey.create(labs["south"], "HIS")

    with django_assert_num_queries(1):
        found = ApiKey.authenticate(f"  {text} ")
        assert found.lab.name == "South"

    assert found.pk == api_key.pk


@pytest.mark.parametrize(
    "mangle",
    [
        lambda text: "",
        lambda text: text[:-1],  # one character short
        lambda text: text.upper(),  # the prefix is lowercase hex
        lambda text: text.replace("lis_", "key_"),
        lambda text: text + "x",
        lambda text: text.replace("_", " ", 1),
    ],
)
def test_malformed_keys_are_refused_without_a_query(
    labs, mangle, django_assert_num_queries
):
    _, text = ApiKey.create(labs["north"], "Bridge")

    with django_assert_num_queries(0), pytest.raises(ApiKeyRefused) as refused:
        ApiKey.authenticate(mangle(text))

    assert refused.value.reason == "malformed"
    assert "lis_<12 hex digits>_<43 characters>" in str(refused.value)


def test_a_wrong_secret_and_an_unknown_prefix_look_alike(labs):
    api_key, text = ApiKey.create(labs["north"], "Bridge")
    wrong_secret = text[:-4] + ("AAAA" if not text.endswith("AAAA") else "BBBB")
    unknown_prefix = "lis_000000000000_" + text[17:]

    with pytest.raises(ApiKeyRefused) as wrong:
        ApiKey.authenticate(wrong_secret)
    with pytest.raises(ApiKeyRefused) as unknown:
        ApiKey.authenticate(unknown_prefix)

    assert str(wrong.value) == str(unknown.value) == "The API key is not valid."
    assert (wrong.value.reason, wrong.value.api_key) == ("wrong_secret", api_key)
    assert (unknown.value.reason, unknown.value.api_key) == ("unknown", None)


def test_a_revoked_key_is_refused_from_then_on_and_the_revocation_logged(labs):
    api_key, text = ApiKey.create(labs["north"], "Bridge")
    ApiKey.authenticate(text)

    assert api_key.revoke(reason="Analyser replaced") is True
    with pytest.raises(ApiKeyRefused, match="was revoked") as refused:
        ApiKey.authenticate(text)

    assert refused.value.reason == "revoked"
    assert api_key.revoke() is False  # already revoked: nothing changes
    entry = ActivityLog.objects.get(model_label="core.apikey", action="update")
    assert entry.reason == "Analyser replaced"
    assert list(entry.changes) == ["revoked_at"]


def test_a_key_of_a_deactivated_lab_is_refused(labs):
    _, text = ApiKey.create(labs["north"], "Bridge")
    labs["north"].is_active = False
    labs["north"].save()

    with pytest.raises(ApiKeyRefused, match="deactivated") as refused:
        ApiKey.authenticate(text)

    assert refused.value.reason == "lab_inactive"


def test_last_use_is_written_once_per_interval(labs, django_assert_num_queries):
    api_key, _ = ApiKey.create(labs["north"], "Bridge")
    start = timezone.now()
    updated_at = api_key.updated_at

    with django_assert_num_queries(1):
        assert api_key.record_use(start) is True
    with django_assert_num_queries(0):  # within the minute: not even a query
        assert api_key.record_use(start + dt.timedelta(seconds=59)) is False
    later = start + dt.timedelta(seconds=LAST_USED_RESOLUTION_SECONDS)
    assert api_key.record_use(later) is True

    stored = ApiKey.objects.get(pk=api_key.pk)
    assert stored.last_used_at == later
    # A use is not a change: no new version, no change entry.
    assert (stored.updated_at, stored.version) == (updated_at, 1)
    assert not ActivityLog.objects.filter(action="update").exists()


def test_a_copy_loaded_before_a_use_can_still_be_revoked(labs):
    api_key, _ = ApiKey.create(labs["north"], "Bridge")
    opened_in_the_admin = ApiKey.objects.get(pk=api_key.pk)

    api_key.record_use()

    assert opened_in_the_admin.revoke(reason="leaked") is True
    assert ApiKey.objects.get(pk=api_key.pk).is_revoked


def test_of_two_copies_using_a_key_at_once_one_writes(labs):
    api_key, _ = ApiKey.create(labs["north"], "Bridge")
    first, second = ApiKey.objects.get(pk=api_key.pk), ApiKey.objects.get(pk=api_key.pk)
    now = timezone.now()

    assert first.record_use(now) is True
    assert second.record_use(now) is False  # its copy is stale; the UPDATE says so


def test_a_taken_prefix_is_drawn_again(labs, monkeypatch):
    taken, _ = ApiKey.create(labs["north"], "First")
    draws = iter([taken.prefix, "0123456789ab"])
    real_token_hex = secrets.token_hex
    monkeypatch.setattr(
        secrets,
        "token_hex",
        lambda n: next(draws) if n == PREFIX_HEX_DIGITS // 2 else real_token_hex(n),
    )

    api_key, text = ApiKey.create(labs["north"], "Second")

    assert api_key.prefix == "0123456789ab"
    assert text.startswith("lis_0123456789ab_")
