"""`manage.py ship_activity_logs`: send unshipped activity log entries to the
search store now (schedule it, or run the `ship_activity_logs` job)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.activity_log.shipping import ship_all, shipping_lag_seconds
from core.utils.elastic_search.errors import SearchNotConfigured


class Command(BaseCommand):
    help = "Ship unshipped activity log entries to Elasticsearch (needs ES_URL)."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = ship_all()
        except SearchNotConfigured as exc:
            # Says to set ES_URL; nothing was marked shipped.
            raise CommandError(str(exc)) from exc
        except Exception as exc:
            raise CommandError(
                f"the search store did not take the entries ({type(exc).__name__}); "
                "they stay pending and will be sent by a later run."
            ) from exc
        lag = shipping_lag_seconds()
        self.stdout.write(
            f"shipped {result.shipped}, not confirmed {result.failed}, "
            f"lag {'none' if lag is None else f'{lag:.0f} s'}"
        )
        if result.failed:
            raise CommandError(f"{result.failed} entries were not confirmed.")
