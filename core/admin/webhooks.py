"""The admin of webhooks: labs' endpoints, and every delivery with its attempts.

Endpoints are listed and edited here (URL, event types, on/off), never
created: the signing secret is shown once, by `manage.py
create_webhook_endpoint` or `rotate_webhook_secret`, and never in the admin.
Deliveries and attempts are the delivery machinery's ledger: read-only,
with a "replay" action; endpoints have "enable" and "replay failed".
Imported by core/admin/__init__.py, so the admin's discovery registers it.
"""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from core.admin.base import BaseModelAdmin
from core.admin.read_only import ReadOnlyAdminMixin
from core.models.webhook import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from core.webhooks.replay import ReplayRefused, replay_delivery, replay_failed


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(BaseModelAdmin):
    """Labs' subscriptions; the secrets are never shown (see module doc)."""

    list_display = (
        "id",
        "lab",
        "display_url",
        "events",
        "is_active",
        "consecutive_failures",
        "disabled_reason",
    )
    list_filter = ("is_active",)
    list_select_related = ("lab",)
    search_fields = ("url", "description")
    fields = (
        "lab",
        "url",
        "description",
        "events",
        "is_active",
        "disabled_reason",
        "disabled_at",
        "consecutive_failures",
        "previous_secret_expires_at",
        "version",
    )
    #: Set by the endpoint's lifecycle, never typed in.
    lifecycle_fields = (
        "lab",
        "disabled_reason",
        "disabled_at",
        "consecutive_failures",
        "previous_secret_expires_at",
        "version",
    )
    actions = ("enable_endpoints", "replay_failed_deliveries")

    def get_readonly_fields(
        self, request: HttpRequest, obj: Any = None
    ) -> tuple[str, ...]:
        """URL, description, events and on/off are editable; see above."""
        return self.lifecycle_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Enable the selected endpoints", permissions=["change"])
    def enable_endpoints(
        self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]
    ) -> None:
        """Turn each selected endpoint back on (activity-logged)."""
        enabled = sum(
            endpoint.enable(reason="Enabled in the admin") for endpoint in queryset
        )
        self.message_user(request, f"{enabled} endpoint(s) enabled.")

    @admin.action(
        description="Replay the failed deliveries of the selected endpoints",
        permissions=["change"],
    )
    def replay_failed_deliveries(
        self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]
    ) -> None:
        """Replay every failed or abandoned delivery of each endpoint."""
        for endpoint in queryset:
            try:
                replays = replay_failed(endpoint)
            except ReplayRefused as exc:
                self.message_user(request, str(exc), messages.WARNING)
                continue
            self.message_user(
                request,
                f"Endpoint {endpoint.pk}: {len(replays)} failed "
                "delivery(ies) replayed.",
            )


class WebhookAttemptInline(ReadOnlyAdminMixin, admin.TabularInline):
    """A delivery's attempts, oldest first."""

    model = WebhookAttempt
    extra = 0
    fields = (
        "number",
        "started_at",
        "duration_ms",
        "outcome",
        "response_status",
        "response_body_excerpt",
        "error_class",
        "error_message",
    )
    readonly_fields = fields


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every delivery, newest first, with its attempts; replayable."""

    list_display = (
        "id",
        "created_at",
        "endpoint",
        "event_type",
        "event",
        "status",
        "attempts",
        "last_response_status",
        "next_attempt_at",
    )
    list_filter = ("status", "event__event_type")
    list_select_related = ("endpoint", "event")
    search_fields = ("event__id",)
    inlines = (WebhookAttemptInline,)
    actions = ("replay_deliveries",)
    exclude = ("sending_until",)

    @admin.display(description="event type")
    def event_type(self, delivery: WebhookDelivery) -> str:
        """The event's type."""
        return delivery.event.event_type

    def has_replay_permission(self, request: HttpRequest) -> bool:
        """Replaying sends data out: it takes the change permission, which
        the read-only pages otherwise never use."""
        return bool(request.user.has_perm("core.change_webhookdelivery"))

    @admin.action(description="Replay the selected deliveries", permissions=["replay"])
    def replay_deliveries(
        self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]
    ) -> None:
        """Send each selected delivery's event again (a new delivery)."""
        replayed = 0
        for delivery in queryset.select_related("endpoint", "event"):
            try:
                replay_delivery(delivery)
            except ReplayRefused as exc:
                self.message_user(request, str(exc), messages.WARNING)
                continue
            replayed += 1
        self.message_user(request, f"{replayed} delivery(ies) replayed.")
