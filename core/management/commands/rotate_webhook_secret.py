"""`manage.py rotate_webhook_secret --endpoint ID`: a new signing secret.

Prints the new secret once. The previous one stays valid for
settings.WEBHOOK_SECRET_OVERLAP_HOURS (deliveries carry a signature with
each meanwhile), so the receiver can switch without losing a delivery.
Activity-logged, attributed to this command.
"""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.models.webhook import WebhookEndpoint
from core.utils.activity_log.context import Actor, ActorKind, acting_as

ROTATE_ACTOR = Actor(
    id="command:rotate_webhook_secret",
    name="rotate_webhook_secret",
    role="",
    kind=ActorKind.SYSTEM,
)


class Command(BaseCommand):
    """Rotate an endpoint's signing secret and print the new one once."""

    help = "Give a webhook endpoint a new signing secret and print it (once)."

    def add_arguments(self, parser: CommandParser) -> None:
        """--endpoint, required; --reason, optional."""
        parser.add_argument("--endpoint", type=int, required=True)
        parser.add_argument("--reason", default="", help="Why, for the audit log.")

    def handle(self, *args: Any, **options: Any) -> None:
        endpoint = WebhookEndpoint.objects.filter(pk=options["endpoint"]).first()
        if endpoint is None:
            raise CommandError(
                f"There is no webhook endpoint {options['endpoint']}; list them in "
                "the admin."
            )
        with acting_as(ROTATE_ACTOR):
            secret = endpoint.rotate_secret(reason=options["reason"])
        hours = settings.WEBHOOK_SECRET_OVERLAP_HOURS
        self.stdout.write(
            f"New signing secret of webhook endpoint {endpoint.pk} "
            f"({endpoint.display_url}); the previous one stays valid for {hours} "
            "hour(s). Copy it now; it will not be shown again:"
        )
        self.stdout.write(secret)
