"""`manage.py fusion_recover [--republish]`: one maintenance round, for cron
or by hand. `--republish`: after RabbitMQ lost its messages (a broker
replaced, its disk lost), publish every waiting job again
(docs/operations.md, "RabbitMQ lost")."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.utils.clients import get_client
from core.utils.fusion.exceptions import FusionConfigurationError


class Command(BaseCommand):
    """Requeue (or bury) jobs of dead workers, publish committed jobs that were
    never published (broker engine), and prune old finished jobs. Workers do
    this every few seconds; the command is for when none is running."""

    help = "Recover jobs of dead workers and relay unpublished jobs, once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--republish",
            action="store_true",
            help=(
                "Publish every waiting job again, as after the broker lost its "
                "messages (broker engine; a job is never run twice for it)."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Print what was done, e.g. `recovered 1, relayed 0, pruned 0`."""
        try:
            report = get_client("fusion").recover(republish=options["republish"])
        except FusionConfigurationError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(", ".join(f"{key} {value}" for key, value in report.items()))
