"""Checkpoint keys: a rotation keeps older checkpoints verifiable (in
verify_activity_logs and in both standalone verifiers) when the old public
key is kept as a retired key, and only then; keys may be base64 of their 32
raw bytes; unreadable keys stop start-up without being quoted."""

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command

from core.activity_log.checkpoint_keys import (
    key_id,
    retired_keys,
    signing_key,
    verify_key,
    verify_keys,
)
from core.activity_log.checkpoints import checkpoint_chain, verify_checkpoints
from core.checks import check_checkpoint_keys
from tests.core.activity_log.keys import pem, public_pem, raw_base64
from tests.core.activity_log.test_audit_export import both, export_of
from tests.core.activity_log.test_checkpoints import (
    _today,
    entries,
    rewrite_consistently,
)

pytestmark = pytest.mark.django_db(transaction=True)


def rotate(settings, old: Ed25519PrivateKey, *, keep_old: bool) -> Ed25519PrivateKey:
    """Configure a new signing key, keeping `old`'s public half as retired
    (as docs/audit-checkpoints.md says to) or forgetting it."""
    new = Ed25519PrivateKey.generate()
    settings.ACTIVITY_LOG_SIGNING_KEY = pem(new)
    settings.ACTIVITY_LOG_RETIRED_VERIFY_KEYS = (
        public_pem(old.public_key()) if keep_old else ""
    )
    return new


# -- rotation ----------------------------------------------------------------------


def test_checkpoints_signed_before_a_rotation_verify_with_the_retired_key(
    signing, labs, settings, capsys
):
    # given a checkpoint signed with the old key, then a rotation
    entries(labs["north"], 2)
    checkpoint_chain(labs["north"].pk)
    new = rotate(settings, signing, keep_old=True)
    entries(labs["north"], 1)
    checkpoint_chain(labs["north"].pk)

    # then both checkpoints verify, each with the key it names
    assert verify_checkpoints(labs["north"].pk) is None
    call_command("verify_activity_logs", "--lab", str(labs["north"].pk))
    assert "chain intact" in capsys.readouterr().out
    assert set(verify_keys()) == {
        key_id(signing.public_key()),
        key_id(new.public_key()),
    }


def test_a_checkpoint_of_a_key_not_configured_is_named(signing, labs, settings):
    entries(labs["north"], 2)
    checkpoint_chain(labs["north"].pk)

    rotate(settings, signing, keep_old=False)

    problem = verify_checkpoints(labs["north"].pk)
    assert problem is not None and problem.sequence == 2
    assert key_id(signing.public_key()) in problem.problem
    assert "neither the verify key nor a retired one" in problem.problem


def test_a_consistent_rewrite_is_caught_by_a_checkpoint_of_a_retired_key(
    signing, labs, settings
):
    made = entries(labs["north"], 3)
    checkpoint_chain(labs["north"].pk)  # #3, old key
    rotate(settings, signing, keep_old=True)

    rewrite_consistently(made[0], "rewritten after the rotation")

    problem = verify_checkpoints(labs["north"].pk)
    assert problem is not None and problem.sequence == 3
    assert "rewritten after it was signed" in problem.problem


def test_an_export_after_a_rotation_carries_both_keys_to_both_verifiers(
    signing, labs, settings, tmp_path
):
    entries(labs["north"], 2)
    checkpoint_chain(labs["north"].pk)
    rotate(settings, signing, keep_old=True)
    entries(labs["north"], 1)
    checkpoint_chain(labs["north"].pk)

    export = export_of(labs["north"], tmp_path / "north.jsonl", _today(labs["north"]))

    assert both(export) == (0, "OK 3 entries in 1 chains, 2 checkpoints")
    manifest_path = Path(f"{export}.manifest.json")
    manifest = json.loads(manifest_path.read_text())
    old_id = key_id(signing.public_key())
    assert set(manifest["public_keys"]) == {old_id, key_id(verify_key())}

    # when the retired key is left out, the old checkpoint cannot be checked
    del manifest["public_keys"][old_id]
    manifest_path.write_text(json.dumps(manifest))
    code, verdict = both(export)
    assert code == 1
    assert verdict == (
        f"FAIL checkpoint chain={labs['north'].pk} sequence=2: signed with key "
        f"'{old_id}', which the manifest does not carry"
    )


def test_the_public_key_command_prints_the_retired_keys_with_all(
    signing, settings, capsys
):
    rotate(settings, signing, keep_old=True)

    call_command("activity_log_public_key", "--all")

    out = capsys.readouterr()
    assert out.out.count("BEGIN PUBLIC KEY") == 2
    assert public_pem(signing.public_key()) in out.out
    assert f"key id {key_id(signing.public_key())} (retired)" in out.err


# -- key forms ----------------------------------------------------------------------


def test_keys_may_be_base64_of_their_raw_bytes(signing, labs, settings):
    settings.ACTIVITY_LOG_SIGNING_KEY = raw_base64(signing)
    settings.ACTIVITY_LOG_VERIFY_KEY = raw_base64(signing.public_key())
    entries(labs["north"], 1)

    checkpoint = checkpoint_chain(labs["north"].pk)

    assert checkpoint is not None
    assert checkpoint.key_id == key_id(signing.public_key())
    assert verify_checkpoints(labs["north"].pk) is None
    assert check_checkpoint_keys() == []


def test_retired_keys_may_mix_pem_and_raw_forms(settings):
    one, two, three = (Ed25519PrivateKey.generate().public_key() for _ in range(3))
    settings.ACTIVITY_LOG_RETIRED_VERIFY_KEYS = (
        public_pem(one) + public_pem(two).replace("\n", "\\n")  # one-line form
    ) + f" {raw_base64(three)},"

    assert [key_id(k) for k in retired_keys()] == [key_id(k) for k in (one, two)] + [
        key_id(three)
    ]


@pytest.mark.parametrize(
    "setting",
    ["ACTIVITY_LOG_SIGNING_KEY", "ACTIVITY_LOG_RETIRED_VERIFY_KEYS"],
)
def test_a_raw_key_of_the_wrong_length_is_refused_unquoted(settings, setting):
    short = "c2VjcmV0LWJ1dC10b28tc2hvcnQ="  # base64 of 20 bytes
    setattr(settings, setting, short)

    (message,) = check_checkpoint_keys()

    assert message.id == "core.E051"
    assert setting in message.msg
    assert short not in message.msg


def test_a_retired_key_that_is_private_is_refused(settings, signing):
    settings.ACTIVITY_LOG_RETIRED_VERIFY_KEYS = pem(Ed25519PrivateKey.generate())

    (message,) = check_checkpoint_keys()

    assert message.id == "core.E051"
    assert "PRIVATE" not in message.msg


def test_a_signing_key_that_is_not_ed25519_raw_or_pem_is_refused(settings):
    settings.ACTIVITY_LOG_SIGNING_KEY = "not a key at all"

    with pytest.raises(
        ImproperlyConfigured, match="ACTIVITY_LOG_SIGNING_KEY"
    ) as excinfo:
        signing_key()

    assert "not a key at all" not in str(excinfo.value)


def test_a_verify_key_file_holding_the_signing_keys_half_passes_the_checks(
    settings, signing, tmp_path
):
    path = tmp_path / "public.pem"
    path.write_bytes(
        signing.public_key().public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        )
    )
    settings.ACTIVITY_LOG_VERIFY_KEY_FILE = str(path)

    assert check_checkpoint_keys() == []


def test_without_any_key_the_verify_command_says_checkpoints_were_not_checked(
    labs, settings, capsys
):
    settings.ACTIVITY_LOG_SIGNING_KEY = ""
    entries(labs["north"], 1)

    call_command("verify_activity_logs", "--lab", str(labs["north"].pk))

    assert "checkpoints not checked" in capsys.readouterr().err
    with pytest.raises(CommandError):
        call_command("activity_log_public_key")


def test_an_export_whose_public_keys_is_not_an_object_fails_in_both(
    signing, labs, tmp_path
):
    entries(labs["north"], 1)
    checkpoint_chain(labs["north"].pk)
    export = export_of(labs["north"], tmp_path / "north.jsonl", _today(labs["north"]))
    manifest_path = Path(f"{export}.manifest.json")
    manifest = json.loads(manifest_path.read_text())

    manifest["public_keys"] = [public_pem(signing.public_key())]
    manifest_path.write_text(json.dumps(manifest))

    code, verdict = both(export)
    assert code == 1
    assert (
        verdict.startswith("FAIL manifest")
        and "public_keys is not an object" in verdict
    )
