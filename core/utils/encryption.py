"""Authenticated encryption of patient data (AES-256-GCM) and blind indexes.

Every ciphertext is a text token carrying the id of the key that made it:

    enc1:<key id>:<base64url(12-byte nonce + ciphertext + 16-byte tag)>

- Several keys are configured at once (`LIS_ENCRYPTION_KEYS="k1:<b64>,k2:<b64>"`,
  newest last): the newest encrypts, every one decrypts, so keys rotate
  without downtime (`manage.py rotate_encryption_keys` re-encrypts old rows).
- The caller binds each ciphertext to where it belongs with associated data
  (e.g. `b"patients.patient|phone|<row context>"`): a token copied to another
  row or field fails to decrypt. The kind of value (str, bytes, JSON) and the
  key id are bound too, so a token cannot be read back as another kind.
- Anything that cannot be decrypted (tampered, truncated, unknown key id,
  associated data of another place, not a token at all) raises
  `DecryptionError`, whose message says where and why, never the plaintext or
  a key. Nothing is ever returned in place of the plaintext.
- The keyring also holds `LIS_BLIND_INDEX_KEY`, a key separate from the
  encryption keys, for blind indexes (keyed hashes of normalised values, for
  exact lookups without decrypting a table): core/utils/blind_index.py says
  how they are made; the key itself never leaves the keyring.

Keys come from settings (`ENCRYPTION_KEYS`, `BLIND_INDEX_KEY`, read from the
environment by config/settings/base.py) and are parsed on first use, again
whenever those settings change. With neither set and
`ENCRYPTION_DEVELOPMENT_KEY_FILE` given (DEBUG), keys are generated once into
that file (mode 0600) with a logged warning. Keys never appear in logs,
errors or reprs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from core.utils.files import create_once

logger = logging.getLogger(__name__)

#: The version tag every token starts with.
TOKEN_VERSION = "enc1"  # noqa: S105 - a format tag, not a secret
#: AES-256: keys are exactly this long.
KEY_LENGTH_BYTES = 32
#: The blind index key is at least this long (HMAC-SHA256's block is 64).
MIN_BLIND_INDEX_KEY_BYTES = 32
#: GCM's standard nonce, random per encryption.
NONCE_LENGTH_BYTES = 12
TAG_LENGTH_BYTES = 16
#: A key id: short, and safe inside a token and a SQL LIKE prefix.
KEY_ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,32}")
_TOKEN = re.compile(rf"{TOKEN_VERSION}:([A-Za-z0-9._-]{{1,32}}):([A-Za-z0-9_-]*)")
#: Key id of a generated development key.
DEVELOPMENT_KEY_ID = "dev1"
GENERATE_KEY_HINT = (
    'generate one with: python -c "import base64, os; '
    'print(base64.b64encode(os.urandom(32)).decode())"'
)


class EncryptionKeyError(ImproperlyConfigured):
    """The keys are missing or malformed; the message says which setting and
    what is expected, never a key."""


class DecryptionError(Exception):
    """A value could not be decrypted. `reason` is one of `not_encrypted`,
    `corrupted`, `unknown_key`, `authentication_failed`; `where` names the
    value (e.g. "patients.patient.phone of row 12")."""

    def __init__(self, where: str, reason: str, detail: str, key_id: str = "") -> None:
        self.where = where
        self.reason = reason
        self.key_id = key_id
        super().__init__(f"Cannot decrypt {where}: {detail} It is not returned.")


class Keyring:
    """The configured keys: encryption keys by id (newest last) and the blind
    index key. Holds ciphers, never shows a key.

    Example repr: `Keyring(key_ids=('k1', 'k2'), newest='k2', source='environment')`.
    """

    def __init__(
        self, keys: Mapping[str, bytes], blind_index_key: bytes, source: str
    ) -> None:
        """`keys`: at least one, by id, newest last (as `parse_encryption_keys`
        returns them)."""
        if any(blind_index_key == key for key in keys.values()):
            raise EncryptionKeyError(
                "LIS_BLIND_INDEX_KEY must differ from every key in "
                f"LIS_ENCRYPTION_KEYS; {GENERATE_KEY_HINT}"
            )
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.__blind_index_key = blind_index_key
        self.key_ids = tuple(keys)
        self.newest_key_id = self.key_ids[-1]
        self.source = source

    def __repr__(self) -> str:
        return (
            f"Keyring(key_ids={self.key_ids!r}, newest={self.newest_key_id!r}, "
            f"source={self.source!r})"
        )

    def cipher(self, key_id: str) -> AESGCM | None:
        """The cipher of `key_id`, or None when it is not configured."""
        return self._ciphers.get(key_id)

    def mac(self, message: bytes) -> str:
        """HMAC-SHA256 of `message` with the blind index key, hex (64 chars):
        the legacy global blind index (core/utils/blind_index.py)."""
        return hmac.new(self.__blind_index_key, message, hashlib.sha256).hexdigest()

    def derived_mac(self, info: bytes, message: bytes) -> bytes:
        """HMAC-SHA256 of `message` (32 bytes) with a key derived from the
        blind index key by HKDF-SHA256 (RFC 5869) for the context `info`:
        a different, independent key for every `info`. The derived key is
        not kept (deriving costs microseconds)."""
        derived = HKDF(
            algorithm=hashes.SHA256(), length=KEY_LENGTH_BYTES, salt=None, info=info
        ).derive(self.__blind_index_key)
        return hmac.new(derived, message, hashlib.sha256).digest()


# -- encrypting and decrypting --------------------------------------------------


def encrypt_bytes(data: bytes, associated_data: bytes) -> str:
    """Encrypt `data` with the newest key, bound to `associated_data`.

    Example: `encrypt_bytes(b"scan", b"reports.report|pdf|<ctx>")` ->
    `"enc1:k2:3q2-7w..."`.
    """
    return _encrypt("bytes", data, associated_data)


def decrypt_bytes(
    token: str, associated_data: bytes, *, where: str = "a value"
) -> bytes:
    """The bytes `encrypt_bytes` was given; `DecryptionError` if `token` was
    not made by it for this `associated_data` with a configured key."""
    return _decrypt("bytes", token, associated_data, where)


def encrypt_str(text: str, associated_data: bytes) -> str:
    """Encrypt a string (UTF-8) with the newest key; see `encrypt_bytes`."""
    return _encrypt("str", text.encode(), associated_data)


def decrypt_str(token: str, associated_data: bytes, *, where: str = "a value") -> str:
    """The string `encrypt_str` was given; see `decrypt_bytes`."""
    return _decrypt("str", token, associated_data, where).decode()


def encrypt_json(value: Any, associated_data: bytes) -> str:
    """Encrypt a JSON-serialisable value; raises TypeError for anything JSON
    cannot hold (a datetime, a set). See `encrypt_bytes`."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return _encrypt("json", text.encode(), associated_data)


def decrypt_json(token: str, associated_data: bytes, *, where: str = "a value") -> Any:
    """The value `encrypt_json` was given; see `decrypt_bytes`."""
    return json.loads(_decrypt("json", token, associated_data, where))


def token_key_id(value: object) -> str | None:
    """The key id of a token, or None when `value` is not a token.

    Example: `token_key_id("enc1:k2:3q2-7w")` -> `"k2"`.
    """
    if not isinstance(value, str):
        return None
    match = _TOKEN.fullmatch(value)
    return match.group(1) if match else None


def token_prefix(key_id: str) -> str:
    """What every token made with `key_id` starts with: `"enc1:<key id>:"`."""
    if not KEY_ID_PATTERN.fullmatch(key_id):
        raise ValueError(
            f"A key id is 1-32 letters, digits, '.', '_' or '-'; {key_id!r} is not one."
        )
    return f"{TOKEN_VERSION}:{key_id}:"


def _bound(kind: str, key_id: str, associated_data: bytes) -> bytes:
    # The kind and key id are authenticated with the caller's associated data.
    return f"{TOKEN_VERSION}|{kind}|{key_id}|".encode() + associated_data


def _encrypt(kind: str, data: bytes, associated_data: bytes) -> str:
    keyring = get_keyring()
    key_id = keyring.newest_key_id
    cipher = keyring.cipher(key_id)
    assert cipher is not None  # noqa: S101 - the newest key is always configured
    nonce = os.urandom(NONCE_LENGTH_BYTES)
    sealed = cipher.encrypt(nonce, data, _bound(kind, key_id, associated_data))
    payload = base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode()
    return f"{TOKEN_VERSION}:{key_id}:{payload}"


def _decrypt(kind: str, token: str, associated_data: bytes, where: str) -> bytes:
    match = _TOKEN.fullmatch(token) if isinstance(token, str) else None
    if match is None:
        raise DecryptionError(
            where,
            "not_encrypted",
            f"the stored value is not an encrypted value (expected "
            f"'{TOKEN_VERSION}:<key id>:<data>'); it may have been written "
            "around the application.",
        )
    key_id, payload = match.groups()
    keyring = get_keyring()
    cipher = keyring.cipher(key_id)
    if cipher is None:
        raise DecryptionError(
            where,
            "unknown_key",
            f"it was encrypted with key id {key_id!r}, which is not configured "
            f"(configured: {', '.join(keyring.key_ids)}). Add that key back to "
            "LIS_ENCRYPTION_KEYS.",
            key_id,
        )
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) < NONCE_LENGTH_BYTES + TAG_LENGTH_BYTES:
        raise DecryptionError(
            where, "corrupted", "the ciphertext is truncated or corrupted.", key_id
        )
    nonce, sealed = raw[:NONCE_LENGTH_BYTES], raw[NONCE_LENGTH_BYTES:]
    try:
        return cipher.decrypt(nonce, sealed, _bound(kind, key_id, associated_data))
    except InvalidTag:
        raise DecryptionError(
            where,
            "authentication_failed",
            "the ciphertext failed authentication: it was altered or truncated, "
            "copied from another row or field, or made with a different key "
            f"under key id {key_id!r}.",
            key_id,
        ) from None


# -- keys -----------------------------------------------------------------------


def parse_encryption_keys(raw: str) -> dict[str, bytes]:
    """`"k1:<base64>,k2:<base64>"` -> `{"k1": key, "k2": key}`, in order
    (the last is the newest). Raises `EncryptionKeyError` naming the entry
    and what is wrong, never echoing a key (nor a malformed key id, which
    may be a key pasted in the wrong place)."""
    keys: dict[str, bytes] = {}
    entries = [entry.strip() for entry in raw.split(",") if entry.strip()]
    if not entries:
        raise EncryptionKeyError(
            "LIS_ENCRYPTION_KEYS is empty; set it to 'key_id:base64key' "
            f"entries separated by commas, newest last ({GENERATE_KEY_HINT})."
        )
    for number, entry in enumerate(entries, start=1):
        where = f"LIS_ENCRYPTION_KEYS entry {number}"
        key_id, separator, encoded = (part.strip() for part in entry.partition(":"))
        if not separator:
            raise EncryptionKeyError(f"{where} is not of the form 'key_id:base64key'.")
        if not KEY_ID_PATTERN.fullmatch(key_id):
            raise EncryptionKeyError(
                f"{where}: the key id must be 1-32 letters, digits, '.', '_' or "
                "'-' (it comes before the ':')."
            )
        if key_id.lower() in {known.lower() for known in keys}:
            raise EncryptionKeyError(
                f"{where}: key id {key_id!r} is used twice (ids are compared "
                "ignoring case); give each key its own id."
            )
        keys[key_id] = _decode_key(encoded, f"{where} (key id {key_id!r})", exact=True)
    return keys


def parse_blind_index_key(raw: str) -> bytes:
    """The base64 `LIS_BLIND_INDEX_KEY`, at least 32 bytes; raises
    `EncryptionKeyError` (without the key) otherwise."""
    return _decode_key(raw.strip(), "LIS_BLIND_INDEX_KEY", exact=False)


def _decode_key(encoded: str, where: str, *, exact: bool) -> bytes:
    """Standard or URL-safe base64, padding optional; `exact`: an AES-256
    key, else a blind index key."""
    standard = encoded.replace("-", "+").replace("_", "/")
    try:
        key = base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise EncryptionKeyError(
            f"{where} is not valid base64; {GENERATE_KEY_HINT}."
        ) from None
    if exact and len(key) != KEY_LENGTH_BYTES:
        needed = f"exactly {KEY_LENGTH_BYTES}"
    elif len(key) < MIN_BLIND_INDEX_KEY_BYTES:
        needed = f"at least {MIN_BLIND_INDEX_KEY_BYTES}"
    else:
        return key
    raise EncryptionKeyError(
        f"{where} is {len(key)} bytes; it must be {needed} bytes; {GENERATE_KEY_HINT}."
    )


def load_keyring(
    encryption_keys: str, blind_index_key: str, development_key_file: Path | None
) -> Keyring:
    """The keyring for these settings values (see the module docstring).

    With neither key set, the development key file is read, and generated
    first if it does not exist. Raises `EncryptionKeyError` when keys are
    missing or malformed.
    """
    if encryption_keys.strip() or blind_index_key.strip():
        for name, value in (
            ("LIS_ENCRYPTION_KEYS", encryption_keys),
            ("LIS_BLIND_INDEX_KEY", blind_index_key),
        ):
            if not value.strip():
                raise EncryptionKeyError(
                    f"{name} is not set but the other encryption key setting is; "
                    "set both (LIS_ENCRYPTION_KEYS and LIS_BLIND_INDEX_KEY)."
                )
        return Keyring(
            parse_encryption_keys(encryption_keys),
            parse_blind_index_key(blind_index_key),
            source="environment",
        )
    if development_key_file is None:
        raise EncryptionKeyError(
            "LIS_ENCRYPTION_KEYS and LIS_BLIND_INDEX_KEY must be set when "
            "DJANGO_DEBUG is off: patient data is encrypted with them. "
            f"Each is a base64 key of 32 bytes ({GENERATE_KEY_HINT}); "
            "LIS_ENCRYPTION_KEYS takes 'key_id:base64key' entries, newest last."
        )
    if not development_key_file.exists():
        _write_development_keys(development_key_file)
    return _read_development_keys(development_key_file)


def _write_development_keys(path: Path) -> None:
    """Create `path` (mode 0600) with new keys, unless another process just
    did: the file appears complete or not at all (written aside, then linked)."""
    encryption_key = base64.b64encode(secrets.token_bytes(KEY_LENGTH_BYTES)).decode()
    index_key = base64.b64encode(secrets.token_bytes(KEY_LENGTH_BYTES)).decode()
    content = (
        f"# Development encryption keys, generated {timezone.now():%Y-%m-%d}.\n"
        "# Never use them for real patient data: set LIS_ENCRYPTION_KEYS and\n"
        "# LIS_BLIND_INDEX_KEY instead. Data encrypted with these keys can only\n"
        "# be read while this file exists.\n"
        f"LIS_ENCRYPTION_KEYS={DEVELOPMENT_KEY_ID}:{encryption_key}\n"
        f"LIS_BLIND_INDEX_KEY={index_key}\n"
    )
    if not create_once(path, content):
        return  # another process generated it first; use theirs
    logger.warning(
        "No LIS_ENCRYPTION_KEYS / LIS_BLIND_INDEX_KEY set: generated a development "
        "encryption key into %s (mode 0600). Data encrypted with it can only be "
        "read while that file exists; set real keys before storing patient data.",
        path,
    )


def _read_development_keys(path: Path) -> Keyring:
    values = {}
    for line in path.read_text().splitlines():
        name, separator, value = line.partition("=")
        if separator and not name.startswith("#"):
            values[name.strip()] = value.strip()
    try:
        keys = parse_encryption_keys(values["LIS_ENCRYPTION_KEYS"])
        index_key = parse_blind_index_key(values["LIS_BLIND_INDEX_KEY"])
    except (KeyError, EncryptionKeyError) as exc:
        raise EncryptionKeyError(
            f"The development key file {path} is damaged ({exc}); restore it, or "
            "delete it to generate new keys (data encrypted with the old ones "
            "becomes unreadable)."
        ) from None
    return Keyring(keys, index_key, source=f"development key file {path}")


@dataclass(frozen=True, repr=False)
class KeySettings:
    """The three settings a keyring is built from. Its repr hides the values,
    so neither a traceback's local variables (as Sentry records them) nor a
    debugger shows a key."""

    encryption_keys: str
    blind_index_key: str
    development_key_file: Path | None

    def __repr__(self) -> str:
        return "<KeySettings: values hidden>"

    @classmethod
    def current(cls) -> KeySettings:
        """The values in settings now."""
        file = getattr(settings, "ENCRYPTION_DEVELOPMENT_KEY_FILE", None)
        return cls(
            getattr(settings, "ENCRYPTION_KEYS", ""),
            getattr(settings, "BLIND_INDEX_KEY", ""),
            Path(file) if file is not None else None,
        )

    def load(self) -> Keyring:
        """`load_keyring` for these values. A problem is raised afresh from
        here: the frames of the parsers, whose locals hold key material, are
        not part of its traceback."""
        try:
            return load_keyring(
                self.encryption_keys, self.blind_index_key, self.development_key_file
            )
        except EncryptionKeyError as exc:
            problem = str(exc)
        raise EncryptionKeyError(problem)


_current: tuple[KeySettings, Keyring] | None = None
_lock = threading.Lock()


def get_keyring() -> Keyring:
    """The keyring of the current settings: built on first use, rebuilt when
    the settings change (e.g. `override_settings` in a test)."""
    global _current
    configured = KeySettings.current()
    current = _current
    if current is not None and current[0] == configured:
        return current[1]
    with _lock:
        if _current is None or _current[0] != configured:
            _current = (configured, configured.load())
        return _current[1]


def configuration_problem() -> str | None:
    """Why the configured keys cannot be used, or None when they can (for the
    system check; never generates a development key file)."""
    configured = KeySettings.current()
    nothing_set = not (
        configured.encryption_keys.strip() or configured.blind_index_key.strip()
    )
    file = configured.development_key_file
    if nothing_set and file is not None and not file.exists():
        return None  # generated on first use; checking must not write it
    try:
        configured.load()
    except EncryptionKeyError as exc:
        return str(exc)
    return None
