"""DatabaseDocumentDBClient: integration logs in the project's own database.

The embedded default of `docdb` (no server needed): the same `write_log` /
`query_logs` API as `DocumentDBClient`, on the `IntegrationLog` table, and
the same per-account scoping: every read filters on the client's account.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import connections, router

from core.utils.capabilities import Capability
from core.utils.clients import (
    DEFAULT_CHECK_TIMEOUT_SECONDS,
    HealthStatus,
    ServiceClient,
)
from core.utils.documentdb.logs import (
    DEFAULT_QUERY_LIMIT,
    IntegrationDirection,
    IntegrationLogEntry,
    IntegrationStatus,
    check_query,
    prepare_log,
    require_account_id,
)
from core.utils.documentdb.tables import log_table

if TYPE_CHECKING:
    from core.models.documentdb import IntegrationLog


class DatabaseDocumentDBClient(ServiceClient):
    """Integration logs of one account, in the `IntegrationLog` table.

    Needs no `DocumentDBConnection` row: the table is in the database the
    project already uses. Thread-safe: Django gives each thread its own
    database connection.
    """

    capabilities = frozenset({Capability.STAND_IN})

    def __init__(self, account_id: int | None = None) -> None:
        self.account_id = require_account_id(account_id)

    def __repr__(self) -> str:
        return f"<DatabaseDocumentDBClient account={self.account_id}>"

    def write_log(
        self,
        integration: str,
        payload: Mapping[str, Any],
        status: str = IntegrationStatus.SUCCESS,
        direction: str = IntegrationDirection.OUTBOUND,
    ) -> str:
        """Store one log for this account and return its id (as a string,
        like DocumentDB's ObjectId). Inside a transaction, the log commits or
        rolls back with it."""
        fields = prepare_log(integration, payload, status, direction)
        log = log_table().objects.create(account_id=self.account_id, **fields)
        return str(log.pk)

    def query_logs(
        self,
        integration: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = DEFAULT_QUERY_LIMIT,
    ) -> list[IntegrationLogEntry]:
        """This account's logs, newest first; `start` inclusive, `end` not.

        Example: `client.query_logs("hl7-analyser", start=a_week_ago)`.
        """
        check_query(start, end, limit)
        logs = log_table().objects.filter(account_id=self.account_id)
        if integration is not None:
            logs = logs.filter(integration=integration)
        if start is not None:
            logs = logs.filter(created_at__gte=start)
        if end is not None:
            logs = logs.filter(created_at__lt=end)
        return [_entry(log) for log in logs.order_by("-created_at", "-pk")[:limit]]

    def check(self, timeout: float = DEFAULT_CHECK_TIMEOUT_SECONDS) -> HealthStatus:
        """Run `SELECT 1` on the table's database. The database's own connect
        timeout bounds it; `timeout` is not applied."""

        def probe() -> str:
            alias = router.db_for_read(log_table())
            with connections[alias].cursor() as cursor:
                cursor.execute("SELECT 1")
            return f"database {alias}"

        return self.timed_check(probe)


def _entry(log: "IntegrationLog") -> IntegrationLogEntry:
    return IntegrationLogEntry(
        id=str(log.pk),
        account_id=log.account_id,
        integration=log.integration,
        direction=log.direction,
        status=log.status,
        payload=log.payload,
        created_at=log.created_at,
    )
