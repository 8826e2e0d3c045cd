"""`manage.py create_webhook_endpoint --lab ID --url URL --events TYPES`:
subscribe a lab's receiver to webhook events.

Prints the signing secret once, on its own line after a short notice: the
receiver needs it to check signatures, and it is never shown again (rotate
it with `rotate_webhook_secret` if it is lost). The creation is
activity-logged, attributed to this command.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.models.webhook import WebhookEndpoint
from core.tenancy.hierarchy import lab_model
from core.utils.activity_log.context import Actor, ActorKind, acting_as
from core.utils.webhooks.events import known_event_types

CREATE_ACTOR = Actor(
    id="command:create_webhook_endpoint",
    name="create_webhook_endpoint",
    role="",
    kind=ActorKind.SYSTEM,
)


class Command(BaseCommand):
    """Create a webhook endpoint and print its secret once."""

    help = "Subscribe a lab's URL to webhook events and print the signing secret once."

    def add_arguments(self, parser: CommandParser) -> None:
        """--lab, --url and --events required; --description optional."""
        parser.add_argument("--lab", type=int, required=True, help="The lab's id.")
        parser.add_argument("--url", required=True, help="The receiver's URL.")
        parser.add_argument(
            "--events",
            required=True,
            help="Comma-separated event types, or * for all. Known: "
            + ", ".join(known_event_types()),
        )
        parser.add_argument("--description", default="", help="What receives them.")

    def handle(self, *args: Any, **options: Any) -> None:
        lab = lab_model().objects.filter(pk=options["lab"]).first()
        if lab is None:
            raise CommandError(
                f"There is no lab {options['lab']}; pass the id of an existing lab."
            )
        events = [event.strip() for event in options["events"].split(",")]
        try:
            with acting_as(CREATE_ACTOR):
                endpoint, secret = WebhookEndpoint.create(
                    lab,
                    options["url"],
                    [e for e in events if e],
                    options["description"],
                )
        except ValidationError as exc:
            problems = "; ".join(
                f"{field}: {' '.join(messages)}"
                for field, messages in exc.message_dict.items()
            )
            raise CommandError(problems) from None
        self.stdout.write(
            f"Webhook endpoint {endpoint.pk} for lab {lab.pk} ({lab.name}), "
            f"{endpoint.display_url}, events {', '.join(endpoint.events)}. "
            "Copy its signing secret now; it will not be shown again:"
        )
        self.stdout.write(secret)
