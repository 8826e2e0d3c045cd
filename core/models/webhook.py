"""Webhooks: a lab's subscriptions, the events recorded for them, and the
ledger of every delivery and attempt.

- `WebhookEndpoint` (lab data, a BaseModel: validated, versioned,
  activity-logged): where to POST, which event types, whether it is active,
  and its signing secrets, encrypted at rest (Standard Webhooks signs with
  the secret itself, so a digest would not do).
- `WebhookEvent`: one change worth telling, with its stable id and the exact
  JSON body sent on every attempt. Written in the transaction of the change.
- `WebhookDelivery`: one event to one endpoint, its status and retry
  schedule. A replay is a new delivery of the same event (same id).
- `WebhookAttempt`: one HTTP attempt of a delivery: when, how long, the
  answer's status and the first kilobyte of its body, or the error.

Events, deliveries and attempts are infrastructure rows written by the
delivery machinery (core/utils/webhooks/), so they are plain Models whose
state changes are single conditional UPDATEs, like Fusion's tables.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.models.base import BaseModel
from core.models.encrypted_fields import EncryptedTextField
from core.models.encrypted_mixin import EncryptedFieldsMixin
from core.models.lab_scoped import LabScopedMixin
from core.utils.webhooks.addresses import UnsafeWebhookURL, check_target, display_url
from core.utils.webhooks.events import normalise_subscription, subscribed
from core.utils.webhooks.signing import (
    InvalidWebhookSecret,
    generate_secret,
    secret_key,
)

#: Longest text kept of a receiver's answer (bytes read, characters kept).
RESPONSE_EXCERPT_BYTES = 1024
#: Longest reason kept for a disabled endpoint or a failed delivery.
MAX_REASON_CHARS = 300


class WebhookEndpoint(EncryptedFieldsMixin, LabScopedMixin, BaseModel):
    """A lab's subscription: POST these event types to this URL, signed.

    Made with `WebhookEndpoint.create()` (or `manage.py
    create_webhook_endpoint`), which returns the signing secret: it is shown
    to whoever asked, once, and never again (the admin never shows it).
    `rotate_secret()` replaces it, keeping the previous one valid for
    settings.WEBHOOK_SECRET_OVERLAP_HOURS (deliveries are signed with both
    meanwhile). The URL is checked against server-side request forgery when
    it is saved (and again before every attempt; see
    core/utils/webhooks/addresses.py).

    Deliveries that keep failing disable it (`disable()`, which logs the
    reason in the activity log and tells the lab on Slack); `enable()` turns
    it back on with a fresh failure count.
    """

    url = models.CharField(
        max_length=2000, help_text="http(s) URL the lab's receiver listens on."
    )
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(
        default=list,
        help_text='Event types to receive, e.g. ["patient.created"], or ["*"].',
    )
    is_active = models.BooleanField(default=True)
    disabled_reason = models.CharField(
        max_length=MAX_REASON_CHARS, blank=True, editable=False
    )
    disabled_at = models.DateTimeField(null=True, blank=True, editable=False)
    #: Deliveries in a row that failed for good; reset by a success. Counted
    #: with a plain UPDATE (bookkeeping, like ApiKey.last_used_at), so a
    #: failing delivery never makes an operator's edit a version conflict.
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    secret = EncryptedTextField(max_length=100, editable=False)
    previous_secret = EncryptedTextField(
        max_length=100, blank=True, default="", editable=False
    )
    previous_secret_expires_at = models.DateTimeField(
        null=True, blank=True, editable=False
    )

    # `events` is checked by validate(), which says what a valid list is.
    mandatory_fields = ("lab", "url", "secret")

    class Meta:
        verbose_name = "webhook endpoint"
        ordering = ("lab_id", "id")
        indexes = [
            # The one query a webhook-enabled save makes when nothing listens.
            models.Index(fields=["lab", "is_active"], name="webhook_endpoint_lab_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.display_url} (lab {self.lab_id})"

    @property
    def display_url(self) -> str:
        """The URL without path or query (which may carry tokens), for
        messages: `"https://hooks.lab.example/…"`."""
        return display_url(self.url)

    # -- lifecycle ------------------------------------------------------------

    @classmethod
    def create(
        cls, lab: Any, url: str, events: list[str], description: str = ""
    ) -> tuple[WebhookEndpoint, str]:
        """A new, saved subscription for `lab` and its signing secret, which
        is returned this once and shown nowhere else.

        Example: `endpoint, secret = WebhookEndpoint.create(lab,
        "https://his.lab.example/hooks", ["patient.created"])` ->
        `secret == "whsec_Vx0q...="`.
        """
        secret = generate_secret()
        endpoint = cls(
            lab=lab,
            url=url,
            events=list(events),
            description=description,
            secret=secret,
        )
        endpoint.save()
        return endpoint, secret

    def rotate_secret(self, reason: str = "") -> str:
        """Replace the signing secret and return the new one (shown once).

        The old one stays valid for settings.WEBHOOK_SECRET_OVERLAP_HOURS:
        deliveries carry a signature with each, so the receiver can switch
        at its own pace. A secret rotated out before that (two rotations in
        a row) stops at once.
        """
        new = generate_secret()
        overlap = dt.timedelta(hours=settings.WEBHOOK_SECRET_OVERLAP_HOURS)
        self.previous_secret = self.secret
        self.previous_secret_expires_at = timezone.now() + overlap
        self.secret = new
        self.save(
            update_fields=["secret", "previous_secret", "previous_secret_expires_at"],
            reason=reason or "Webhook signing secret rotated",
        )
        return new

    def signing_secrets(self, now: dt.datetime | None = None) -> list[str]:
        """The secrets deliveries are signed with now: the current one, then
        the previous one while its overlap lasts."""
        now = now or timezone.now()
        secrets = [self.secret]
        expires = self.previous_secret_expires_at
        if self.previous_secret and expires is not None and expires > now:
            secrets.append(self.previous_secret)
        return secrets

    def disable(self, reason: str) -> bool:
        """Stop delivering (activity-logged with `reason`); False, writing
        nothing, when it was already disabled. Pending deliveries are then
        abandoned when their turn comes; they can be replayed later."""
        if not self.is_active:
            return False
        self.is_active = False
        self.disabled_reason = reason[:MAX_REASON_CHARS]
        self.disabled_at = timezone.now()
        self.save(
            update_fields=["is_active", "disabled_reason", "disabled_at"],
            reason=reason,
        )
        return True

    def enable(self, reason: str = "") -> bool:
        """Deliver again, with a fresh failure count; False when it was
        already active."""
        if self.is_active:
            return False
        self.is_active = True
        self._clear_disabled_state()
        self.save(
            update_fields=[
                "is_active",
                "disabled_reason",
                "disabled_at",
                "consecutive_failures",
            ],
            reason=reason or "Webhook endpoint enabled",
        )
        return True

    def wants(self, event_type: str) -> bool:
        """Whether this subscription receives `event_type`."""
        return subscribed(self.events or [], event_type)

    # -- hooks ----------------------------------------------------------------

    def validate(self, *args: Any, **kwargs: Any) -> None:
        """The URL (when new or changed), the event types and the secret."""
        super().validate(*args, **kwargs)
        errors: dict[str, str] = {}
        url = self.url.strip()
        if self._state.adding or self.initial_value("url") != url:
            problem = url_problem(url)
            if problem:
                errors["url"] = problem
        try:
            normalise_subscription(self.events)
        except ValueError as exc:
            errors["events"] = str(exc)
        try:
            secret_key(self.secret)
        except InvalidWebhookSecret as exc:
            errors["secret"] = str(exc)
        if errors:
            raise ValidationError(errors)

    def before_save(self, *args: Any, **kwargs: Any) -> None:
        """Store the event types normalised; an endpoint switched back on
        (e.g. in the admin) starts with a clean failure record."""
        self.url = self.url.strip()
        self.events = normalise_subscription(self.events)
        if self.is_active and self.initial_value("is_active") is False:
            self._clear_disabled_state()

    def _clear_disabled_state(self) -> None:
        self.disabled_reason = ""
        self.disabled_at = None
        self.consecutive_failures = 0


def url_problem(url: str) -> str | None:
    """Why `url` cannot be subscribed (SSRF rules, or a host that does not
    resolve), or None if it can."""
    try:
        check_target(url, allow_private=settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES)
    except UnsafeWebhookURL as exc:
        return str(exc)
    except socket.gaierror:
        return "The URL's host name does not resolve; check its spelling."
    return None


class WebhookEvent(models.Model):
    """One event, recorded in the transaction of the change it tells of.

    `id` (`msg_` + a ULID) is sent as `webhook-id` and inside the body, and
    never changes: retries and replays resend this row's `body` byte for
    byte. See core/utils/webhooks/events.py for the body's shape.
    """

    id = models.CharField(primary_key=True, max_length=40, editable=False)
    lab = models.ForeignKey("account.Lab", on_delete=models.PROTECT, related_name="+")
    event_type = models.CharField(max_length=100)
    version = models.PositiveSmallIntegerField(default=1)
    body = models.TextField(help_text="The exact JSON sent (and signed).")
    model_label = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "webhook event"
        indexes = [
            models.Index(fields=["lab", "-occurred_at"], name="webhook_event_lab_idx")
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.id}"

    @property
    def payload(self) -> dict[str, Any]:
        """The body, parsed."""
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


class WebhookDelivery(models.Model):
    """One event to one endpoint: pending until it succeeds, fails for good
    or is abandoned. `next_attempt_at` is when the next attempt is due;
    `sending_until` is the lease of the attempt in progress (a worker that
    dies mid-attempt leaves it to expire)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        #: The receiver refused it for good, or every retry failed.
        FAILED = "failed", "Failed"
        #: Not (further) attempted: the endpoint was disabled meanwhile.
        ABANDONED = "abandoned", "Abandoned"

    event = models.ForeignKey(
        WebhookEvent, on_delete=models.CASCADE, related_name="deliveries"
    )
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    replay_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="replays",
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sending_until = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=MAX_REASON_CHARS, blank=True)

    class Meta:
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        ordering = ("-created_at", "-id")
        indexes = [
            models.Index(
                fields=["endpoint", "status"], name="webhook_delivery_status_idx"
            ),
        ]
        constraints = [
            # An event goes to an endpoint once; only replays repeat it.
            models.UniqueConstraint(
                fields=["event", "endpoint"],
                condition=Q(replay_of__isnull=True),
                name="webhook_delivery_once",
            ),
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} of {self.event_id} [{self.status}]"


class WebhookAttempt(models.Model):
    """One HTTP attempt of a delivery. `outcome` says what it led to:
    success, a retry, or the end of the delivery."""

    class Outcome(models.TextChoices):
        SUCCEEDED = "succeeded", "Succeeded"
        RETRY = "retry", "Will retry"
        FAILED = "failed", "Failed"

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body_excerpt = models.TextField(
        blank=True, help_text=f"At most {RESPONSE_EXCERPT_BYTES} bytes of the answer."
    )
    error_class = models.CharField(max_length=100, blank=True)
    error_message = models.CharField(max_length=MAX_REASON_CHARS, blank=True)

    class Meta:
        verbose_name = "webhook attempt"
        ordering = ("delivery_id", "number")

    def __str__(self) -> str:
        answer = self.response_status or self.error_class or "?"
        return f"attempt {self.number} of delivery {self.delivery_id}: {answer}"
