"""ApiKey: a lab's credential for integrations (analysers, HIS bridges, apps).

A key reads `lis_<prefix>_<secret>`: `prefix` is 12 hex digits, public,
unique, used to find the row and shown in the admin; `secret` is 32 random
bytes (URL-safe base64, 43 characters). Clients send it as
`Authorization: Bearer <key>` or `X-API-Key: <key>`.

Only SHA-256(secret) is stored; the key itself is returned once, by
`ApiKey.create()`, and can never be shown again. Why this hash:

- A slow password hash (PBKDF2, Argon2) exists to make guessing low-entropy
  passwords expensive. A 256-bit random secret cannot be guessed however
  fast the hash is, and a slow hash would add its cost to every API request.
- HMAC with a server-side pepper would add a second secret whose rotation
  (or a SECRET_KEY rotation) invalidates every key, for no gain: a stolen
  table of SHA-256 digests of random 256-bit values reveals nothing usable.

Digests are compared in constant time. A revoked key is refused from the
next request on (every request reads the row: one indexed query).
`last_used_at` is written at most once per `LAST_USED_RESOLUTION_SECONDS`
per key, so a busy integration does not write a row on every request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.models.base import BaseModel
from core.models.lab_scoped import LabScopedMixin

#: What every key starts with, so leaked keys are easy to find in code/logs.
KEY_PREFIX = "lis_"
#: Hex digits of the lookup prefix (48 bits: collisions are retried).
PREFIX_HEX_DIGITS = 12
#: Random bytes of the secret part.
SECRET_BYTES = 32
#: `last_used_at` is kept to this precision: one write per key per minute.
LAST_USED_RESOLUTION_SECONDS = 60

_KEY_FORMAT = re.compile(
    rf"^{KEY_PREFIX}(?P<prefix>[0-9a-f]{{{PREFIX_HEX_DIGITS}}})_(?P<secret>[A-Za-z0-9_-]{{43}})$"
)


class ApiKeyRefused(Exception):
    """A presented key was not accepted. The message is for the client; it
    never repeats the key. `api_key` is the row when one was found (revoked,
    wrong secret, inactive lab), for the activity log."""

    def __init__(self, message: str, reason: str, api_key: ApiKey | None = None):
        super().__init__(message)
        self.reason = reason
        self.api_key = api_key


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKey(LabScopedMixin, BaseModel):
    """One lab's API key; see the module docstring.

    Creates and revocations are activity-logged like every BaseModel save
    (the digest masked). Keys are made by `ApiKey.create()` (or
    `manage.py create_api_key`), never by the admin, so the key is shown
    exactly once, where it was asked for.
    """

    name = models.CharField(
        max_length=100, help_text="What uses the key, e.g. 'Analyser bridge'."
    )
    prefix = models.CharField(max_length=PREFIX_HEX_DIGITS, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    mandatory_fields = ("lab", "name", "prefix", "secret_hash")
    sensitive_fields = ("secret_hash",)

    class Meta:
        verbose_name = "API key"
        ordering = ("lab_id", "name")

    def __str__(self) -> str:
        return f"{self.name} ({KEY_PREFIX}{self.prefix}_…)"

    @property
    def is_revoked(self) -> bool:
        """Whether the key was revoked."""
        return self.revoked_at is not None

    @classmethod
    def create(cls, lab: Any, name: str) -> tuple[ApiKey, str]:
        """A new saved key for `lab` and the key text, which is shown to the
        caller once and stored nowhere.

        Example: `key, text = ApiKey.create(lab, "Analyser bridge")` ->
        `text == "lis_3f9a0c1b2d4e_Vx...43 characters"`.
        """
        secret = secrets.token_urlsafe(SECRET_BYTES)
        while True:
            prefix = secrets.token_hex(PREFIX_HEX_DIGITS // 2)
            if not cls.objects.filter(prefix=prefix).exists():
                break
        api_key = cls(lab=lab, name=name, prefix=prefix, secret_hash=_digest(secret))
        api_key.save()
        return api_key, f"{KEY_PREFIX}{prefix}_{secret}"

    @classmethod
    def authenticate(cls, presented: str) -> ApiKey:
        """The active key matching `presented` (with its lab loaded), or
        ApiKeyRefused saying why. One query."""
        match = _KEY_FORMAT.match(presented.strip())
        if match is None:
            raise ApiKeyRefused(
                f"The API key is malformed; it looks like {KEY_PREFIX}<12 hex "
                "digits>_<43 characters>, as it was shown when it was created.",
                "malformed",
            )
        api_key = (
            cls.objects.select_related("lab").filter(prefix=match["prefix"]).first()
        )
        if api_key is None or not hmac.compare_digest(
            api_key.secret_hash, _digest(match["secret"])
        ):
            raise ApiKeyRefused(
                "The API key is not valid.",
                "unknown" if api_key is None else "wrong_secret",
                api_key,
            )
        if api_key.is_revoked:
            raise ApiKeyRefused(
                "This API key was revoked; ask the lab for a new one.",
                "revoked",
                api_key,
            )
        if not api_key.lab.is_active:
            raise ApiKeyRefused(
                "This API key's lab is deactivated.", "lab_inactive", api_key
            )
        return api_key

    def revoke(self, reason: str = "") -> bool:
        """Revoke the key from now on (activity-logged with `reason`); False
        if it was already revoked."""
        if self.is_revoked:
            return False
        self.revoked_at = timezone.now()
        self.save(update_fields=["revoked_at"], reason=reason)
        return True

    def record_use(self, now: dt.datetime | None = None) -> bool:
        """Set `last_used_at` unless it was set less than
        LAST_USED_RESOLUTION_SECONDS ago; True if this call wrote it.

        The condition is in the UPDATE, so of many processes using the key
        at once, one writes per interval. It runs no hooks, keeps `version`
        and `updated_at`, and logs no change entry: the API-key middleware
        logs the use itself.
        """
        now = now or timezone.now()
        cutoff = now - dt.timedelta(seconds=LAST_USED_RESOLUTION_SECONDS)
        if self.last_used_at is not None and self.last_used_at > cutoff:
            return False
        stale = Q(last_used_at__isnull=True) | Q(last_used_at__lte=cutoff)
        # Django's plain UPDATE, on purpose past BaseQuerySet's refusal (and
        # not update_without_hooks, which bumps the version): a use is
        # bookkeeping, not a change of the key, so it must not make a rename
        # or a revocation from a copy loaded earlier fail as a conflict.
        written = models.QuerySet.update(
            type(self).objects.filter(stale, pk=self.pk), last_used_at=now
        )
        if written:
            self.last_used_at = now
        return bool(written)
