"""`manage.py prune_activity_logs`: apply the database retention setting.

With settings.ACTIVITY_LOG_DB_RETENTION_DAYS unset (the default) it removes
nothing. Otherwise it removes, per lab, the chain prefix of sealed entries
that Elasticsearch confirmed and that are older than the setting, after
verifying that prefix (core/activity_log/retention.py).
"""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.activity_log.retention import (
    describe,
    prune_expired,
    retention_cutoff,
)


class Command(BaseCommand):
    help = (
        "Remove shipped, sealed activity log entries older than "
        "ACTIVITY_LOG_DB_RETENTION_DAYS from the database (none by default)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        cutoff = retention_cutoff()
        if cutoff is None:
            self.stdout.write(
                "ACTIVITY_LOG_DB_RETENTION_DAYS is not set: the database keeps "
                "every entry; nothing pruned."
            )
            return
        report = prune_expired()
        days = settings.ACTIVITY_LOG_DB_RETENTION_DAYS
        self.stdout.write(f"entries older than {days} days ({cutoff:%Y-%m-%d}):")
        self.stdout.write(describe(report))
        if report.refused:
            raise CommandError("\n".join(report.refused))
