"""`manage.py webhook_deliveries --endpoint ID [--failed] [--limit N]`:
an endpoint's deliveries, newest first, one line each."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.models.webhook import WebhookDelivery, WebhookEndpoint
from core.webhooks.replay import REPLAYABLE

DEFAULT_LIMIT = 50


class Command(BaseCommand):
    """List an endpoint's deliveries."""

    help = "List a webhook endpoint's deliveries, newest first (--failed: failed only)."

    def add_arguments(self, parser: CommandParser) -> None:
        """--endpoint required; --failed and --limit optional."""
        parser.add_argument("--endpoint", type=int, required=True)
        parser.add_argument(
            "--failed",
            action="store_true",
            help="Only failed or abandoned deliveries not replayed yet.",
        )
        parser.add_argument("--limit", type=int, default=DEFAULT_LIMIT)

    def handle(self, *args: Any, **options: Any) -> None:
        endpoint = WebhookEndpoint.objects.filter(pk=options["endpoint"]).first()
        if endpoint is None:
            raise CommandError(f"There is no webhook endpoint {options['endpoint']}.")
        if options["limit"] < 1:
            raise CommandError("--limit must be at least 1.")
        deliveries = endpoint.deliveries.select_related("event")
        if options["failed"]:
            deliveries = deliveries.filter(status__in=REPLAYABLE, replays__isnull=True)
        state = (
            "active" if endpoint.is_active else f"disabled: {endpoint.disabled_reason}"
        )
        self.stdout.write(f"Endpoint {endpoint.pk} {endpoint.display_url} ({state})")
        count = 0
        for delivery in deliveries.order_by("-created_at", "-id")[: options["limit"]]:
            count += 1
            self.stdout.write(describe(delivery))
        self.stdout.write(f"{count} delivery(ies) shown")


def describe(delivery: WebhookDelivery) -> str:
    """One line: id, when, event, status, attempts, last answer, next try.

    Example: `"41  2026-01-01 10:00:00  patient.created msg_01J...  failed
    attempts=7  last=HTTP 500"`.
    """
    last = (
        f"HTTP {delivery.last_response_status}"
        if delivery.last_response_status
        else delivery.last_error or "-"
    )
    line = (
        f"{delivery.pk}  {delivery.created_at:%Y-%m-%d %H:%M:%S}  "
        f"{delivery.event.event_type} {delivery.event_id}  {delivery.status}  "
        f"attempts={delivery.attempts}  last={last}"
    )
    if delivery.status == WebhookDelivery.Status.PENDING and delivery.next_attempt_at:
        line += f"  next={delivery.next_attempt_at:%Y-%m-%d %H:%M:%S}"
    if delivery.replay_of_id:
        line += f"  (replay of {delivery.replay_of_id})"
    return line
