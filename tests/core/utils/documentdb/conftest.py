"""Fixtures for the integration-log clients.

No MongoDB server can be installed here, so `DocumentDBClient` runs on
mongomock (an in-memory MongoDB in Python) through its
`mongo_client_factory` option: the one allowed fake. Failure paths (server
down, server silent) use the real pymongo client against real sockets.
"""

import functools
from collections.abc import Callable, Iterator
from typing import Any

import mongomock
import pytest
from mongomock.store import ServerStore

from core.models import DocumentDBConnection
from core.utils.documentdb.client import DocumentDBClient
from core.utils.documentdb.database import DatabaseDocumentDBClient

#: The password inside the test connection URLs; it must never show up.
URL_PASSWORD = "pa55-never-shown"


def mongo_url(host: str = "docdb.internal:27017") -> str:
    """A DocumentDB-style URL with credentials and options."""
    return f"mongodb://lab_app:{URL_PASSWORD}@{host}/lis?tls=false&replicaSet=rs0"


def add_connection(account_id: int, url: str | None = None) -> DocumentDBConnection:
    """Save the account's DocumentDBConnection row."""
    connection = DocumentDBConnection(
        account_id=account_id, connection_url=url or mongo_url()
    )
    connection.save()
    return connection


@pytest.fixture
def shared_store() -> ServerStore:
    """One in-memory MongoDB 'cluster' that every account's URL points at."""
    return ServerStore()


@pytest.fixture
def mongo_factory(shared_store: ServerStore) -> Callable[..., Any]:
    """`mongo_client_factory` for DocumentDBClient: mongomock on the shared store."""
    return functools.partial(mongomock.MongoClient, _store=shared_store)


@pytest.fixture(params=["mongo", "database"])
def log_client(
    request: pytest.FixtureRequest, db: None, mongo_factory: Callable[..., Any]
) -> Iterator[Callable[[int], Any]]:
    """Builds the integration-log client of an account, on each backend in
    turn, so every contract test runs against both."""
    built: list[Any] = []

    def build(account_id: int) -> Any:
        if request.param == "database":
            client: Any = DatabaseDocumentDBClient(account_id=account_id)
        else:
            if account_id is not None:
                add_connection(account_id)
            client = DocumentDBClient(account_id, mongo_client_factory=mongo_factory)
        built.append(client)
        return client

    yield build
    for client in built:
        client.close()
