"""Webhook signing secrets and signatures, in the Standard Webhooks format.

A secret reads `whsec_<base64>`: the part after the prefix is 32 random
bytes, standard base64 (the HMAC key is the decoded bytes, not the text).
Each delivery carries three headers (https://www.standardwebhooks.com/):

- `webhook-id`: the event's id (`msg_...`), the same on every retry and
  replay, so a receiver can drop duplicates;
- `webhook-timestamp`: when this attempt was sent, in whole Unix seconds
  (receivers refuse old ones, which stops replays of captured requests);
- `webhook-signature`: `v1,<base64 HMAC-SHA256>` over
  `<webhook-id>.<webhook-timestamp>.<body>`, the exact bytes sent. While a
  rotated-out secret is still valid, one signature per secret, separated by
  a space: a receiver holding either secret accepts the delivery.

Receivers check them with any Standard Webhooks library (`standardwebhooks`,
Svix's) given the `whsec_...` secret.
"""

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
#: Random bytes of a new secret (the spec allows 24 to 64).
SECRET_BYTES = 32
#: Shortest and longest key a secret may decode to (the spec's bounds).
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64
SIGNATURE_VERSION = "v1"


class InvalidWebhookSecret(ValueError):
    """A secret that is not `whsec_` followed by base64 of 24 to 64 bytes.
    The message never repeats the secret."""


def generate_secret() -> str:
    """A new random signing secret.

    Example: `generate_secret()` -> `"whsec_Vx0q...44 characters"`.
    """
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key of `secret` (its base64 part, decoded)."""
    if not secret.startswith(SECRET_PREFIX):
        raise InvalidWebhookSecret(
            f"A webhook secret starts with {SECRET_PREFIX!r}; this one does not."
        )
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise InvalidWebhookSecret(
            f"A webhook secret is {SECRET_PREFIX!r} followed by standard base64; "
            "this one is not valid base64."
        ) from None
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        raise InvalidWebhookSecret(
            f"A webhook secret's key is {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} "
            f"bytes; this one is {len(key)}."
        )
    return key


def sign(message_id: str, timestamp: int, body: bytes, secret: str) -> str:
    """One signature of `body` as sent with `message_id` at `timestamp`.

    Example (the Standard Webhooks test vector):
    `sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}',
    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")` ->
    `"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="`.
    """
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def signature_headers(
    message_id: str, timestamp: int, body: bytes, secrets: Sequence[str]
) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt, signed with each
    of `secrets` (newest first).

    Example: `{"webhook-id": "msg_01J...", "webhook-timestamp": "1767225600",
    "webhook-signature": "v1,K5o... v1,9Qa..."}`.
    """
    if not secrets:
        raise InvalidWebhookSecret("A delivery needs at least one signing secret.")
    signatures = " ".join(sign(message_id, timestamp, body, s) for s in secrets)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signatures,
    }
