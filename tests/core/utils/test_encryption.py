"""AES-256-GCM tokens with key ids, key rotation, associated data, and the
keys: from the environment, generated for development, refused when missing
in production. (Blind indexes: test_blind_index.py.)"""

import base64
import json
import logging
import os
import stat
import subprocess
import sys
import traceback
from pathlib import Path
from types import SimpleNamespace

import pytest

from core.checks import check_encryption_keys
from core.utils.encryption import (
    DecryptionError,
    EncryptionKeyError,
    _write_development_keys,
    decrypt_bytes,
    decrypt_json,
    decrypt_str,
    encrypt_bytes,
    encrypt_json,
    encrypt_str,
    get_keyring,
    token_key_id,
)
from tests.config.test_deploy_check import signing_key_file

pytestmark = pytest.mark.engine_independent

REPO = Path(__file__).resolve().parents[3]
ROW_12_PHONE = b"patients.patient|phone|0b0e6f4c-1d6f-4d2b-9a51-2c1f3f0d7e11"
ROW_13_PHONE = b"patients.patient|phone|7d3c2a9e-5b1f-4c8e-8f0a-9e6b5d4c3b21"
ROW_12_EMAIL = b"patients.patient|email|0b0e6f4c-1d6f-4d2b-9a51-2c1f3f0d7e11"


def new_key(length: int = 32) -> str:
    return base64.b64encode(os.urandom(length)).decode()


@pytest.fixture
def keys(settings) -> SimpleNamespace:
    """k1 configured (k2 made but not yet configured), a blind index key."""
    configured = SimpleNamespace(k1=new_key(), k2=new_key(), blind=new_key())
    settings.ENCRYPTION_KEYS = f"k1:{configured.k1}"
    settings.BLIND_INDEX_KEY = configured.blind
    return configured


def all_text(*texts: object) -> str:
    return " ".join(str(text) for text in texts)


# -- round trips -----------------------------------------------------------------------


@pytest.mark.parametrize("text", ["+919876543210", "", "आशा राव ✓", "a" * 10_000])
def test_a_string_round_trips(keys, text):
    token = encrypt_str(text, ROW_12_PHONE)

    assert decrypt_str(token, ROW_12_PHONE) == text
    assert text not in token or text == ""


def test_bytes_round_trip(keys):
    data = bytes(range(256))

    assert decrypt_bytes(encrypt_bytes(data, ROW_12_PHONE), ROW_12_PHONE) == data


@pytest.mark.parametrize(
    "value",
    [
        {"glucose": {"value": 5.4, "unit": "mmol/L"}, "flags": ["H"], "ok": True},
        ["a", 1, 1.5, None, False],
        "plain text",
        42,
        None,
    ],
)
def test_json_round_trips_with_its_types(keys, value):
    restored = decrypt_json(encrypt_json(value, ROW_12_PHONE), ROW_12_PHONE)

    assert json.dumps(restored) == json.dumps(value)


def test_a_value_json_cannot_hold_is_refused_before_encrypting(keys):
    with pytest.raises(TypeError):
        encrypt_json({"taken": {1, 2}}, ROW_12_PHONE)


def test_the_token_names_its_key_and_is_different_every_time(keys):
    first = encrypt_str("+919876543210", ROW_12_PHONE)
    second = encrypt_str("+919876543210", ROW_12_PHONE)

    assert first.startswith("enc1:k1:") and token_key_id(first) == "k1"
    assert first != second  # a fresh nonce each time
    assert token_key_id("+919876543210") is None
    assert token_key_id(None) is None


def test_a_token_cannot_be_read_back_as_another_kind(keys):
    token = encrypt_str("+919876543210", ROW_12_PHONE)

    with pytest.raises(DecryptionError) as excinfo:
        decrypt_bytes(token, ROW_12_PHONE)

    assert excinfo.value.reason == "authentication_failed"


# -- what cannot be decrypted ----------------------------------------------------------


def flip_one_character(token: str, position: int) -> str:
    position %= len(token)
    # "A" and "g" differ in the high bits a base64 character always uses.
    replacement = "A" if token[position] != "A" else "g"
    return token[:position] + replacement + token[position + 1 :]


@pytest.mark.parametrize("position", [8, 30, -1])
def test_a_tampered_ciphertext_fails_authentication(keys, position):
    token = encrypt_str("+919876543210", ROW_12_PHONE)

    with pytest.raises(DecryptionError) as excinfo:
        decrypt_str(
            flip_one_character(token, position), ROW_12_PHONE, where="row 12 phone"
        )

    assert excinfo.value.reason == "authentication_failed"
    message = str(excinfo.value)
    assert message.startswith("Cannot decrypt row 12 phone: ")
    assert "+919876543210" not in message and keys.k1 not in message


def test_a_truncated_ciphertext_is_refused(keys):
    token = encrypt_str("+919876543210", ROW_12_PHONE)

    for cut, reason in [
        (token[:-4], "authentication_failed"),  # the tag is cut short
        (token[:20], "corrupted"),  # shorter than a nonce and a tag
        ("enc1:k1:", "corrupted"),
        ("enc1:k1:abcde", "corrupted"),  # not a whole number of bytes
        ("enc1:k1", "not_encrypted"),
    ]:
        with pytest.raises(DecryptionError) as excinfo:
            decrypt_str(cut, ROW_12_PHONE)
        assert excinfo.value.reason == reason, cut


@pytest.mark.parametrize("stored", ["+919876543210", "", "enc1:k1:not base64!"])
def test_something_that_is_not_a_token_is_never_returned(keys, stored):
    with pytest.raises(DecryptionError) as excinfo:
        decrypt_str(stored, ROW_12_PHONE)

    assert excinfo.value.reason == "not_encrypted"
    assert "+919876543210" not in str(excinfo.value)


def test_a_value_copied_into_another_row_or_field_does_not_decrypt(keys):
    token = encrypt_str("+919876543210", ROW_12_PHONE)

    for elsewhere in (ROW_13_PHONE, ROW_12_EMAIL):
        with pytest.raises(DecryptionError) as excinfo:
            decrypt_str(token, elsewhere)
        assert excinfo.value.reason == "authentication_failed"
        assert "copied from another row or field" in str(excinfo.value)


def test_an_unknown_key_id_is_named_with_the_configured_ones(keys, settings):
    token = encrypt_str("+919876543210", ROW_12_PHONE)
    settings.ENCRYPTION_KEYS = f"k2:{keys.k2}"

    with pytest.raises(DecryptionError) as excinfo:
        decrypt_str(token, ROW_12_PHONE)

    assert excinfo.value.reason == "unknown_key"
    assert "key id 'k1'" in str(excinfo.value)
    assert "(configured: k2)" in str(excinfo.value)
    assert keys.k1 not in str(excinfo.value) and keys.k2 not in str(excinfo.value)


def test_a_different_key_under_the_same_id_fails_authentication(keys, settings):
    token = encrypt_str("+919876543210", ROW_12_PHONE)
    settings.ENCRYPTION_KEYS = f"k1:{keys.k2}"

    with pytest.raises(DecryptionError) as excinfo:
        decrypt_str(token, ROW_12_PHONE)

    assert excinfo.value.reason == "authentication_failed"


# -- rotation --------------------------------------------------------------------------


def test_after_adding_a_key_old_tokens_read_and_new_ones_use_it(keys, settings):
    old = encrypt_str("+919876543210", ROW_12_PHONE)

    settings.ENCRYPTION_KEYS = f"k1:{keys.k1}, k2:{keys.k2}"

    new = encrypt_str("+919876543210", ROW_12_PHONE)
    assert token_key_id(old) == "k1" and token_key_id(new) == "k2"
    assert decrypt_str(old, ROW_12_PHONE) == decrypt_str(new, ROW_12_PHONE)
    assert get_keyring().newest_key_id == "k2"


# -- keys from the environment ---------------------------------------------------------


@pytest.mark.parametrize(
    ("configured", "expected"),
    [
        ("k1", "entry 1 is not of the form 'key_id:base64key'"),
        ("k1:{k1},{k2}:k2", "entry 2: the key id must be 1-32 letters"),
        ("k1:not base64!", "entry 1 (key id 'k1') is not valid base64"),
        ("k1:{short}", "is 16 bytes; it must be exactly 32 bytes"),
        ("k1:{k1},K1:{k2}", "key id 'K1' is used twice"),
        (" , ", "LIS_ENCRYPTION_KEYS is empty"),
    ],
)
def test_malformed_keys_are_refused_without_echoing_a_key(
    keys, settings, configured, expected
):
    short = new_key(16)
    settings.ENCRYPTION_KEYS = configured.format(k1=keys.k1, k2=keys.k2, short=short)

    with pytest.raises(EncryptionKeyError) as excinfo:
        encrypt_str("x", ROW_12_PHONE)
    [problem] = check_encryption_keys()

    assert expected in str(excinfo.value)
    assert problem.id == "core.E020" and problem.msg == str(excinfo.value)
    for secret in (keys.k1, keys.k2, short, keys.blind):
        assert secret not in all_text(excinfo.value, problem.msg, problem.hint)


@pytest.mark.parametrize(
    ("encryption", "blind", "expected"),
    [
        ("k1:{k1}", "{short}", "LIS_BLIND_INDEX_KEY is 16 bytes; it must be at least"),
        ("k1:{k1}", "{k1}", "LIS_BLIND_INDEX_KEY must differ from every key"),
        ("k1:{k1}", "", "LIS_BLIND_INDEX_KEY is not set but the other"),
        ("", "{blind}", "LIS_ENCRYPTION_KEYS is not set but the other"),
    ],
)
def test_the_blind_index_key_is_checked_too(
    keys, settings, encryption, blind, expected
):
    values = {"k1": keys.k1, "blind": keys.blind, "short": new_key(16)}
    settings.ENCRYPTION_KEYS = encryption.format(**values)
    settings.BLIND_INDEX_KEY = blind.format(**values)

    with pytest.raises(EncryptionKeyError) as excinfo:
        get_keyring()

    assert expected in str(excinfo.value)
    assert check_encryption_keys()[0].msg == str(excinfo.value)
    assert not any(value in str(excinfo.value) for value in values.values())


def test_url_safe_base64_and_spaces_are_accepted(settings):
    key = os.urandom(32)
    settings.ENCRYPTION_KEYS = f" k-1.a : {base64.urlsafe_b64encode(key).decode()} "
    settings.BLIND_INDEX_KEY = base64.urlsafe_b64encode(os.urandom(48)).decode()

    assert get_keyring().key_ids == ("k-1.a",)
    assert check_encryption_keys() == []


def test_a_key_error_carries_no_key_in_its_traceback(keys, settings):
    """Error reporters (Sentry) record each frame's local variables."""
    settings.ENCRYPTION_KEYS = f"k1:{keys.k1},k2:{new_key(16)}"  # k2 too short

    with pytest.raises(EncryptionKeyError) as excinfo:
        encrypt_str("x", ROW_12_PHONE)

    assert excinfo.value.__context__ is None and excinfo.value.__cause__ is None
    ours = [
        frame
        for frame, _ in traceback.walk_tb(excinfo.value.__traceback__)
        if frame.f_globals["__name__"] == "core.utils.encryption"
    ]
    assert ours  # the error is raised from the module's own frames...
    recorded = all_text(*(repr(v) for frame in ours for v in frame.f_locals.values()))
    for secret in (keys.k1, keys.blind, settings.ENCRYPTION_KEYS):
        assert secret not in recorded  # ...none of which holds a key


def test_the_keyring_repr_names_key_ids_only(keys, settings):
    settings.ENCRYPTION_KEYS = f"k1:{keys.k1},k2:{keys.k2}"

    shown = repr(get_keyring())

    assert shown == ("Keyring(key_ids=('k1', 'k2'), newest='k2', source='environment')")


def test_without_keys_and_without_debug_nothing_is_encrypted(settings):
    settings.ENCRYPTION_KEYS = settings.BLIND_INDEX_KEY = ""
    settings.ENCRYPTION_DEVELOPMENT_KEY_FILE = None

    with pytest.raises(
        EncryptionKeyError, match="must be set when DJANGO_DEBUG is off"
    ):
        encrypt_str("+919876543210", ROW_12_PHONE)
    assert "must be set when DJANGO_DEBUG is off" in check_encryption_keys()[0].msg


# -- the development key ---------------------------------------------------------------


@pytest.fixture
def development(settings, tmp_path) -> Path:
    """No keys in the environment; DEBUG's development key file under tmp."""
    settings.ENCRYPTION_KEYS = settings.BLIND_INDEX_KEY = ""
    settings.ENCRYPTION_DEVELOPMENT_KEY_FILE = tmp_path / "var" / "dev-keys"
    return settings.ENCRYPTION_DEVELOPMENT_KEY_FILE


def test_a_development_key_is_generated_on_first_use_with_a_warning(
    development, settings, caplog
):
    assert check_encryption_keys() == []  # checking does not create the file
    assert not development.exists()

    with caplog.at_level(logging.WARNING, logger="core.utils.encryption"):
        token = encrypt_str("+919876543210", ROW_12_PHONE)

    assert stat.S_IMODE(development.stat().st_mode) == 0o600
    [warning] = caplog.records
    assert warning.levelno == logging.WARNING
    assert str(development) in warning.getMessage()
    assert "development encryption key" in warning.getMessage()
    stored = dict(
        line.split("=", 1)
        for line in development.read_text().splitlines()
        if not line.startswith("#")
    )
    assert stored["LIS_ENCRYPTION_KEYS"].startswith("dev1:")
    for value in stored.values():
        assert value.split(":")[-1] not in warning.getMessage()
    assert check_encryption_keys() == []
    # Settings change and change back: the keyring is rebuilt from the file.
    settings.ENCRYPTION_KEYS, settings.BLIND_INDEX_KEY = f"k9:{new_key()}", new_key()
    assert get_keyring().key_ids == ("k9",)
    settings.ENCRYPTION_KEYS = settings.BLIND_INDEX_KEY = ""
    caplog.clear()
    assert decrypt_str(token, ROW_12_PHONE) == "+919876543210"
    assert caplog.records == []


def test_two_processes_generating_at_once_keep_the_first_file(development, caplog):
    development.parent.mkdir(parents=True)
    development.write_text("written by the other process")

    with caplog.at_level(logging.WARNING, logger="core.utils.encryption"):
        _write_development_keys(development)  # this one finishes second

    assert development.read_text() == "written by the other process"
    assert caplog.records == []
    assert list(development.parent.iterdir()) == [development]  # no leftovers


def test_a_damaged_development_key_file_is_reported(development):
    development.parent.mkdir(parents=True)
    development.write_text("LIS_ENCRYPTION_KEYS=dev1:tooshort\n")

    with pytest.raises(EncryptionKeyError, match="is damaged"):
        encrypt_str("x", ROW_12_PHONE)
    assert "is damaged" in check_encryption_keys()[0].msg


# -- the settings, end to end ----------------------------------------------------------


def run_manage(
    tmp_path: Path, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_", "LIS_"))
    }
    clean.update(
        LIS_DATA_DIR=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        **env,
    )
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=clean,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_production_without_keys_fails_the_system_check(tmp_path):
    production = {"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "x" * 50}

    missing = run_manage(tmp_path, "check", **production)
    configured = run_manage(
        tmp_path,
        "check",
        LIS_ENCRYPTION_KEYS=f"k1:{new_key()}",
        LIS_BLIND_INDEX_KEY=new_key(),
        # Every service on its embedded stand-in, chosen: core.E040 is
        # tests/core/test_checks.py's concern, not this test's.
        LIS_LOCAL_SERVICES="cache,docdb,es,pusher,s3,slack",
        # The audit checkpoints' key (core.E050) is test_checkpoints.py's.
        ACTIVITY_LOG_SIGNING_KEY_FILE=str(signing_key_file(tmp_path)),
        **production,
    )

    assert missing.returncode != 0
    assert "core.E020" in missing.stderr
    assert "must be set when DJANGO_DEBUG is off" in missing.stderr
    assert configured.returncode == 0, configured.stderr


def test_in_debug_the_development_key_goes_to_the_data_folder(tmp_path):
    encrypt = "from core.utils.encryption import encrypt_str; encrypt_str('x', b'here')"

    result = run_manage(tmp_path, "shell", "-c", encrypt)

    assert result.returncode == 0, result.stderr
    key_file = tmp_path / "development-encryption-keys"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "generated a development encryption key" in result.stderr
