"""`manage.py prune_webhooks [--days N] [--dry-run]`: remove webhook history
older than settings.WEBHOOK_HISTORY_DAYS (90) days, or N; see
core/webhooks/retention.py. Meant for a daily cron job."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.webhooks.retention import prune_webhook_history


class Command(BaseCommand):
    help = (
        "Remove webhook events older than WEBHOOK_HISTORY_DAYS with their "
        "deliveries and attempts, once none is pending or recent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="Keep this many days instead of WEBHOOK_HISTORY_DAYS.",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count, remove nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["days"]
        if days is None:
            days = settings.WEBHOOK_HISTORY_DAYS
        try:
            pruned = prune_webhook_history(days, dry_run=options["dry_run"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        verb = "would remove" if options["dry_run"] else "removed"
        self.stdout.write(
            f"webhook history older than {days} days: {verb} {pruned.events} "
            f"event(s), {pruned.deliveries} delivery(ies), {pruned.attempts} "
            "attempt(s)"
        )
