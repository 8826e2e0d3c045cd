"""DocumentDBClient: one account's integration logs on DocumentDB / MongoDB.

`get_client("docdb", account_id=12)` builds one per account and process from
the account's `DocumentDBConnection` row. The pymongo `MongoClient` inside it
holds a thread-safe connection pool; every call is bounded by the timeouts
below. The connection URL carries credentials and is only ever shown masked.

Every document carries `account_id` and every query filters on it, so two
accounts whose URLs point at the same cluster and collection still never see
each other's logs.
"""

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pymongo
from django.db import DatabaseError, transaction
from django.utils.module_loading import import_string
from pymongo.errors import ConnectionFailure, PyMongoError

from core.utils.clients import (
    DEFAULT_CHECK_TIMEOUT_SECONDS,
    HealthStatus,
    ServiceClient,
)
from core.utils.documentdb.errors import (
    DocumentDBConnectionMissing,
    DocumentDBUnavailable,
    IntegrationLogError,
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
from core.utils.documentdb.tables import connection_table

if TYPE_CHECKING:
    from core.models.documentdb import DocumentDBConnection

logger = logging.getLogger(__name__)

#: Database used when the connection URL names none (`mongodb://host/`).
DEFAULT_DATABASE = "integration_logs"
DEFAULT_COLLECTION = "integration_logs"
#: How long to look for a usable server before giving up on an operation.
SERVER_SELECTION_TIMEOUT_SECONDS = 5.0
CONNECT_TIMEOUT_SECONDS = 5.0
#: Bound on one socket read or write.
SOCKET_TIMEOUT_SECONDS = 10.0
#: Bound on a whole operation, retries included (pymongo's `timeoutMS`).
OPERATION_TIMEOUT_SECONDS = 15.0
MAX_POOL_SIZE = 10
#: How often a client asks whether its connection row changed.
CONNECTION_REFRESH_SECONDS = 30.0

MongoClientFactory = Callable[..., Any]


class DocumentDBClient(ServiceClient):
    """Integration logs of one account, in its DocumentDB / MongoDB database.

    Options (settings.SERVICES["docdb"]["OPTIONS"], see services.py):
    `collection`, `database` (when the URL names none), the timeouts in
    seconds, `max_pool_size`, `retry_writes` (False by default: Amazon
    DocumentDB does not support retryable writes; True suits MongoDB),
    `tls_ca_file`, `connection_refresh_seconds` (how often `is_stale` reads
    the row's version), and `mongo_client_factory` (a callable or dotted path
    used instead of `pymongo.MongoClient`; the tests pass
    `mongomock.MongoClient`, since no MongoDB server runs here).
    """

    capabilities = frozenset()

    def __init__(
        self,
        account_id: int | None = None,
        *,
        database: str = DEFAULT_DATABASE,
        collection: str = DEFAULT_COLLECTION,
        server_selection_timeout_seconds: float = SERVER_SELECTION_TIMEOUT_SECONDS,
        connect_timeout_seconds: float = CONNECT_TIMEOUT_SECONDS,
        socket_timeout_seconds: float = SOCKET_TIMEOUT_SECONDS,
        operation_timeout_seconds: float = OPERATION_TIMEOUT_SECONDS,
        max_pool_size: int = MAX_POOL_SIZE,
        retry_writes: bool = False,
        tls_ca_file: str | None = None,
        connection_refresh_seconds: float = CONNECTION_REFRESH_SECONDS,
        mongo_client_factory: MongoClientFactory | str | None = None,
    ) -> None:
        self.account_id = require_account_id(account_id)
        connection = _connection_for(self.account_id)
        self.masked_url = connection.masked_url
        self._connection_version = connection.version
        self._refresh_seconds = connection_refresh_seconds
        self._checked_at = time.monotonic()
        factory = _resolve_factory(mongo_client_factory)
        options: dict[str, Any] = {
            "serverSelectionTimeoutMS": _ms(server_selection_timeout_seconds),
            "connectTimeoutMS": _ms(connect_timeout_seconds),
            "socketTimeoutMS": _ms(socket_timeout_seconds),
            "timeoutMS": _ms(operation_timeout_seconds),
            "maxPoolSize": max_pool_size,
            "retryWrites": retry_writes,
            "retryReads": True,
            "tz_aware": True,
            "appname": "lis-core",
        }
        if tls_ca_file:
            options["tlsCAFile"] = tls_ca_file
        try:
            self._mongo = factory(connection.connection_url, **options)
            self._collection = self._mongo.get_default_database(database)[collection]
        except (PyMongoError, ValueError, TypeError) as exc:
            # pymongo's message may quote the URL or an option: name the class.
            raise DocumentDBConnectionMissing(
                f"The DocumentDB connection of account {self.account_id} "
                f"({self.masked_url}) is not usable ({type(exc).__name__}); "
                "correct its connection_url."
            ) from None
        self._indexes_ready = False
        self._indexes_lock = threading.Lock()
        # Operations in flight and whether close() was asked: see close().
        self._state_lock = threading.Lock()
        self._in_flight = 0
        self._closing = False
        self._closed = False
        logger.info(
            "DocumentDB client for account %s built (%s)",
            self.account_id,
            self.masked_url,
        )

    def __repr__(self) -> str:
        return f"<DocumentDBClient account={self.account_id} {self.masked_url}>"

    def write_log(
        self,
        integration: str,
        payload: Mapping[str, Any],
        status: str = IntegrationStatus.SUCCESS,
        direction: str = IntegrationDirection.OUTBOUND,
    ) -> str:
        """Store one log for this account and return its id.

        Raises `DocumentDBUnavailable` when the server cannot be reached in
        time. If it was unreachable nothing was written; if it timed out after
        receiving the insert the log may exist. Either way the caller keeps
        the payload and retries (a retry after a late timeout can duplicate).
        """
        document = {"account_id": self.account_id}
        document.update(prepare_log(integration, payload, status, direction))
        action = "write the log"
        with self._in_use(action), _translated_errors(self.account_id, action):
            self._ensure_indexes()
            result = self._collection.insert_one(document)
        return str(result.inserted_id)

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
        query: dict[str, Any] = {"account_id": self.account_id}
        if integration is not None:
            query["integration"] = integration
        created: dict[str, datetime] = {}
        if start is not None:
            created["$gte"] = start
        if end is not None:
            created["$lt"] = end
        if created:
            query["created_at"] = created
        action = "read the logs"
        with self._in_use(action), _translated_errors(self.account_id, action):
            cursor = (
                self._collection.find(query)
                .sort([("created_at", pymongo.DESCENDING), ("_id", pymongo.DESCENDING)])
                .limit(limit)
            )
            return [_entry(document) for document in cursor]

    def check(self, timeout: float = DEFAULT_CHECK_TIMEOUT_SECONDS) -> HealthStatus:
        """Ping the account's server, within `timeout` seconds."""

        def probe() -> str:
            with self._in_use("ping the server"), pymongo.timeout(timeout):
                self._collection.database.command("ping")
            return f"account {self.account_id}"

        return self.timed_check(probe)

    def close(self) -> None:
        """Close the connection pool and its monitor threads, once no
        operation is using them.

        The registry calls this when it drops the client (evicted, stale or
        forgotten), and another thread may have got the client just before
        and be inside `write_log`: pymongo >= 4 would fail that write (a
        closed MongoClient refuses all use), so the last operation in flight
        closes the pool as it ends. Idempotent.
        """
        with self._state_lock:
            self._closing = True
        self._close_if_idle()

    @contextmanager
    def _in_use(self, action: str) -> Iterator[None]:
        """Count one operation in flight (see `close`). A client already
        closed is refused with a message that says to ask `get_client`
        again, which builds a current one."""
        with self._state_lock:
            if self._closed:
                raise DocumentDBUnavailable(
                    f"Could not {action} for account {self.account_id}: this "
                    "client was closed (its connection changed or it was "
                    "evicted). Call get_client again for a current one."
                )
            self._in_flight += 1
        try:
            yield
        finally:
            with self._state_lock:
                self._in_flight -= 1
            self._close_if_idle()

    def _close_if_idle(self) -> None:
        """Close the pool, once, if `close` was asked and nothing is in flight.

        The decision is taken under the lock and the close done outside it:
        pymongo's close talks to the server (it ends the sessions)."""
        with self._state_lock:
            close_now = self._closing and self._in_flight == 0 and not self._closed
            self._closed = self._closed or close_now
        if close_now:
            self._mongo.close()

    def is_stale(self) -> bool:
        """Whether the account's connection row was edited or deleted since
        this client was built (another process saved it). Reads the row's
        version at most every `connection_refresh_seconds`; if the database
        cannot say, the client is kept. Asked inside the caller's transaction,
        so the read runs in a savepoint: a failure must not leave that
        transaction aborted."""
        now = time.monotonic()
        if now - self._checked_at < self._refresh_seconds:
            return False
        self._checked_at = now
        try:
            with transaction.atomic():
                version = (
                    connection_table()
                    .objects.filter(account_id=self.account_id)
                    .values_list("version", flat=True)
                    .first()
                )
        except DatabaseError:
            logger.warning(
                "could not check the DocumentDB connection of account %s",
                self.account_id,
                exc_info=True,
            )
            return False
        return version != self._connection_version

    def _ensure_indexes(self) -> None:
        """Create the query indexes once per client (idempotent on the server)."""
        if self._indexes_ready:
            return
        with self._indexes_lock:
            if self._indexes_ready:
                return
            self._collection.create_index(
                [
                    ("account_id", pymongo.ASCENDING),
                    ("integration", pymongo.ASCENDING),
                    ("created_at", pymongo.DESCENDING),
                ],
                name="account_integration_created",
            )
            self._collection.create_index(
                [("account_id", pymongo.ASCENDING), ("created_at", pymongo.DESCENDING)],
                name="account_created",
            )
            self._indexes_ready = True


@contextmanager
def _translated_errors(account_id: int, action: str) -> Iterator[None]:
    """Turn pymongo errors into ours, naming the account, never the URL.

    The pymongo error stays chained as the cause for operators: pymongo keeps
    credentials out of its messages (they hold host names at most).
    """
    try:
        yield
    except PyMongoError as exc:
        kind = type(exc).__name__
        if isinstance(exc, ConnectionFailure) or exc.timeout:
            raise DocumentDBUnavailable(
                f"Could not {action} for account {account_id}: DocumentDB could "
                f"not be reached or did not answer in time ({kind}). Try again "
                "later."
            ) from exc
        raise IntegrationLogError(
            f"Could not {action} for account {account_id}: DocumentDB refused "
            f"the operation ({kind})."
        ) from exc


def _connection_for(account_id: int) -> "DocumentDBConnection":
    connection = connection_table().objects.filter(account_id=account_id).first()
    if connection is None:
        raise DocumentDBConnectionMissing(
            f"Account {account_id} has no DocumentDB connection: add a "
            f"DocumentDBConnection(account_id={account_id}, connection_url=...) "
            "row, or use the database backend (DOCDB_BACKEND unset)."
        )
    return connection


def _resolve_factory(factory: MongoClientFactory | str | None) -> MongoClientFactory:
    if factory is None:
        return pymongo.MongoClient
    if isinstance(factory, str):
        resolved: MongoClientFactory = import_string(factory)
        return resolved
    return factory


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def _entry(document: Mapping[str, Any]) -> IntegrationLogEntry:
    return IntegrationLogEntry(
        id=str(document["_id"]),
        account_id=int(document["account_id"]),
        integration=document["integration"],
        direction=document["direction"],
        status=document["status"],
        payload=dict(document["payload"]),
        created_at=document["created_at"],
    )
