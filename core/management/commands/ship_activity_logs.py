"""`manage.py ship_activity_logs [--resend]`: send unshipped activity log
entries to the search store now (schedule it, or run the
`ship_activity_logs` job). `--resend` first sends again every entry already
shipped, for a store that lost its data (docs/operations.md, "Elasticsearch
lost")."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.activity_log.shipping import (
    ShipResult,
    resend_shipped,
    ship_all,
    shipping_lag_seconds,
)
from core.utils.elastic_search.errors import SearchNotConfigured


class Command(BaseCommand):
    help = "Ship unshipped activity log entries to Elasticsearch (needs ES_URL)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--resend",
            action="store_true",
            help=(
                "First send again every entry already marked shipped (after the "
                "search store lost its data); harmless to repeat."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["resend"]:
            self._resend()
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

    def _resend(self) -> None:
        """Send every shipped entry again; an error says to run it again."""
        again = (
            "run `ship_activity_logs --resend` again (each document keeps its "
            "id, so the store holds each entry once)."
        )
        try:
            resent: ShipResult = resend_shipped()
        except SearchNotConfigured as exc:
            raise CommandError(str(exc)) from exc
        except Exception as exc:
            raise CommandError(
                f"the search store did not take the entries ({type(exc).__name__}); "
                + again
            ) from exc
        self.stdout.write(f"resent {resent.shipped}")
        if resent.failed:
            raise CommandError(f"{resent.failed} entries were not confirmed; " + again)
