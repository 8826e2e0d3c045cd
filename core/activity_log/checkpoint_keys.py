"""The Ed25519 keys of the audit trail's signed checkpoints (checkpoints.py).

None of them is ever in the database. Each comes from a setting holding the
key itself or from the setting `<name>_FILE` naming a file:

- ACTIVITY_LOG_SIGNING_KEY: the private key that signs new checkpoints.
- ACTIVITY_LOG_VERIFY_KEY: its public half, for hosts that only verify
  (else derived from the signing key).
- ACTIVITY_LOG_RETIRED_VERIFY_KEYS: the public keys of earlier signing keys,
  so that checkpoints signed before a rotation still verify. Each
  checkpoint names its key (`key_id`), and is checked with that key only.

A key is a PEM (`openssl genpkey -algorithm ed25519`; `\\n` escapes are
allowed so it fits one environment variable) or the base64 of its 32 raw
bytes (a private key's seed, or a public key). The retired list holds any
number of either, PEM blocks one after another, raw keys separated by
whitespace or commas.
"""

import base64
import binascii
import hashlib
import re
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

#: Ed25519 keys, private (the seed) and public, are 32 bytes (RFC 8032).
RAW_KEY_BYTES = 32

_PEM_BLOCK = re.compile(rb"-----BEGIN [A-Z ]+-----.+?-----END [A-Z ]+-----", re.S)


def signing_key() -> Ed25519PrivateKey | None:
    """The configured private key, or None when none is configured.
    Raises ImproperlyConfigured for a key that cannot be read or is not
    Ed25519 (`manage.py check` reports it as core.E051); the message never
    quotes the key."""
    data = _setting_bytes("ACTIVITY_LOG_SIGNING_KEY")
    if data is None:
        return None
    return _private_key(data)


def verify_key() -> Ed25519PublicKey | None:
    """The public key of the current signing key: ACTIVITY_LOG_VERIFY_KEY
    (an inspector's or a verifying host's copy) or the signing key's."""
    data = _setting_bytes("ACTIVITY_LOG_VERIFY_KEY")
    if data is None:
        private = signing_key()
        return private.public_key() if private is not None else None
    return _public_key("ACTIVITY_LOG_VERIFY_KEY", data)


def retired_keys() -> list[Ed25519PublicKey]:
    """The public keys of earlier signing keys (ACTIVITY_LOG_RETIRED_VERIFY_KEYS),
    in the order given."""
    data = _setting_bytes("ACTIVITY_LOG_RETIRED_VERIFY_KEYS")
    if data is None:
        return []
    blocks = _PEM_BLOCK.findall(data)
    raw = [t for t in re.split(rb"[\s,]+", _PEM_BLOCK.sub(b" ", data)) if t]
    return [
        _public_key("ACTIVITY_LOG_RETIRED_VERIFY_KEYS", key) for key in blocks + raw
    ]


def verify_keys() -> dict[str, Ed25519PublicKey]:
    """Every key a checkpoint may be checked with, by key id: the current
    one first, then the retired ones. Example: `{"3f9a0c...": <key>}`."""
    current = verify_key()
    keys = ([current] if current is not None else []) + retired_keys()
    return {key_id(key): key for key in keys}


def key_id(key: Ed25519PublicKey) -> str:
    """The first 16 hex digits of SHA-256 over the raw 32-byte public key;
    `openssl pkey -pubin -in public.pem -outform DER | tail -c 32 |
    sha256sum` gives the same digits."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_key_pem(key: Ed25519PublicKey) -> str:
    """The key as a SubjectPublicKeyInfo PEM, as `openssl pkey -pubout` writes."""
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def _private_key(data: bytes) -> Ed25519PrivateKey:
    name = "ACTIVITY_LOG_SIGNING_KEY"
    try:
        if b"-----BEGIN" in data:
            key = serialization.load_pem_private_key(data, password=None)
        else:
            key = Ed25519PrivateKey.from_private_bytes(_raw(name, data))
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            f"{name} is not a readable PEM private key or base64 of 32 raw bytes "
            f"({type(exc).__name__}); make one with `openssl genpkey -algorithm "
            "ed25519`."
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured(
            f"{name} is a {type(key).__name__}; checkpoints are signed with "
            "Ed25519 (`openssl genpkey -algorithm ed25519`)."
        )
    return key


def _public_key(name: str, data: bytes) -> Ed25519PublicKey:
    try:
        if b"-----BEGIN" in data:
            key = serialization.load_pem_public_key(data)
        else:
            key = Ed25519PublicKey.from_public_bytes(_raw(name, data))
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            f"{name} holds a key that is not a readable PEM public key or base64 "
            f"of 32 raw bytes ({type(exc).__name__})."
        ) from None
    if not isinstance(key, Ed25519PublicKey):
        raise ImproperlyConfigured(
            f"{name} holds a {type(key).__name__}, not an Ed25519 public key."
        )
    return key


def _raw(name: str, data: bytes) -> bytes:
    """The 32 bytes base64 `data` encodes; ValueError for anything else."""
    try:
        raw = base64.b64decode(data.strip(), validate=True)
    except binascii.Error:
        raise ValueError(f"{name} is not base64") from None
    if len(raw) != RAW_KEY_BYTES:
        raise ValueError(f"{name} decodes to {len(raw)} bytes, not {RAW_KEY_BYTES}")
    return raw


def _setting_bytes(name: str) -> bytes | None:
    """Setting `name` (the key itself; `\\n` escapes allowed for one-line
    environment variables) or `name`_FILE (a path); None if neither is set."""
    text = getattr(settings, name, "") or ""
    path = getattr(settings, f"{name}_FILE", "") or ""
    if text:
        return text.replace("\\n", "\n").encode()
    if path:
        try:
            return Path(path).read_bytes()
        except OSError as exc:
            raise ImproperlyConfigured(
                f"{name}_FILE={path} cannot be read ({type(exc).__name__})."
            ) from None
    return None
