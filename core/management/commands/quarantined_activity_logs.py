"""`manage.py quarantined_activity_logs`: the entries Elasticsearch refused
for good (core/activity_log/quarantine.py), and sending them again.

    manage.py quarantined_activity_logs                  # list them
    manage.py quarantined_activity_logs --retry          # after a fix: all
    manage.py quarantined_activity_logs --retry --id 912 --id 913
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.activity_log.models import ActivityLogShipQuarantine
from core.activity_log.shipping import retry_quarantined
from core.utils.elastic_search.errors import SearchError

#: Characters of a reason shown per line in the listing.
REASON_PREVIEW_CHARS = 160


class Command(BaseCommand):
    help = (
        "List activity log entries Elasticsearch refused permanently "
        "(quarantined); --retry sends them again after a mapping or data fix."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--retry", action="store_true", help="send them to Elasticsearch again"
        )
        parser.add_argument(
            "--id",
            dest="ids",
            type=int,
            action="append",
            metavar="ENTRY_ID",
            help="only this entry (repeatable); default: every quarantined entry",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        ids = options["ids"]
        rows = ActivityLogShipQuarantine.objects.order_by("entry_id")
        if ids:
            found = rows.filter(entry_id__in=ids).values_list("entry_id", flat=True)
            unknown = sorted(set(ids) - set(found))
            if unknown:
                raise CommandError(
                    f"not quarantined: {', '.join(map(str, unknown))}; run the "
                    "command without arguments to list the quarantined entries."
                )
            rows = rows.filter(entry_id__in=ids)
        if options["retry"]:
            self._retry(ids)
        else:
            self._list(rows)

    def _list(self, rows: Any) -> None:
        count = 0
        for row in rows:
            count += 1
            reason = row.reason[:REASON_PREVIEW_CHARS]
            lab = "-" if row.lab_id is None else row.lab_id
            self.stdout.write(
                f"entry {row.entry_id}  lab {lab}"
                f"  since {row.quarantined_at:%Y-%m-%d %H:%M:%S%z}"
                f"  attempts {row.attempts}  {row.status} {row.error_type}: {reason}"
            )
        self.stdout.write(f"{count} quarantined entries")

    def _retry(self, ids: list[int] | None) -> None:
        try:
            result = retry_quarantined(ids)
        except SearchError as exc:
            raise CommandError(
                f"Elasticsearch did not take them ({exc}); they stay quarantined."
            ) from exc
        self.stdout.write(
            f"shipped {result.shipped}, refused again {result.quarantined}, "
            f"not confirmed {result.failed}"
        )
        if result.quarantined or result.failed:
            raise CommandError(
                f"{result.quarantined + result.failed} entries are still "
                "quarantined; list them for Elasticsearch's reasons."
            )
