"""`manage.py replay_webhooks --endpoint ID (--delivery ID ... | --all-failed)
[--enable]`: send deliveries' events again (same ids, same bodies).

`--enable` first turns a disabled endpoint back on (once its receiver
works again). Every replay is activity-logged, attributed to this command.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.models.webhook import WebhookEndpoint
from core.utils.activity_log.context import Actor, ActorKind, acting_as
from core.webhooks.replay import ReplayRefused, replay_delivery, replay_failed

REPLAY_ACTOR = Actor(
    id="command:replay_webhooks", name="replay_webhooks", role="", kind=ActorKind.SYSTEM
)


class Command(BaseCommand):
    """Replay one or more deliveries, or every failed one, of an endpoint."""

    help = (
        "Replay webhook deliveries of an endpoint (--delivery ID... or --all-failed)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """--endpoint, then --delivery IDs or --all-failed; --enable."""
        parser.add_argument("--endpoint", type=int, required=True)
        parser.add_argument("--delivery", type=int, nargs="+", default=[])
        parser.add_argument("--all-failed", action="store_true")
        parser.add_argument(
            "--enable", action="store_true", help="Enable the endpoint first."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if bool(options["delivery"]) == options["all_failed"]:
            raise CommandError("Pass --delivery ID [ID ...] or --all-failed (one).")
        endpoint = WebhookEndpoint.objects.filter(pk=options["endpoint"]).first()
        if endpoint is None:
            raise CommandError(f"There is no webhook endpoint {options['endpoint']}.")
        with acting_as(REPLAY_ACTOR):
            if options["enable"] and endpoint.enable(reason="Enabled to replay"):
                self.stdout.write(f"Endpoint {endpoint.pk} enabled.")
            try:
                replays = (
                    replay_failed(endpoint)
                    if options["all_failed"]
                    else [
                        replay_delivery(delivery)
                        for delivery in self._deliveries(endpoint, options["delivery"])
                    ]
                )
            except ReplayRefused as exc:
                raise CommandError(str(exc)) from None
        for replay in replays:
            self.stdout.write(
                f"delivery {replay.replay_of_id} replayed as delivery {replay.pk}"
            )
        self.stdout.write(f"{len(replays)} delivery(ies) replayed")

    def _deliveries(self, endpoint: WebhookEndpoint, ids: list[int]) -> list[Any]:
        found = {
            delivery.pk: delivery
            for delivery in endpoint.deliveries.filter(pk__in=ids).select_related(
                "event", "endpoint"
            )
        }
        missing = [str(i) for i in ids if i not in found]
        if missing:
            raise CommandError(
                f"Endpoint {endpoint.pk} has no delivery {', '.join(missing)}; list "
                f"them with `manage.py webhook_deliveries --endpoint {endpoint.pk}`."
            )
        return [found[i] for i in ids]
