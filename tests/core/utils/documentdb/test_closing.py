"""Closing a DocumentDB client the registry drops (evicted, stale or
forgotten) never breaks a thread still using it.

pymongo >= 4 refuses any use of a closed `MongoClient` (InvalidOperation),
and another thread may have got the client from the registry just before it
was dropped: the pool is closed only once no operation is using it, and a
holder that starts one after that is told to ask for a new client. The
registry itself closes dropped clients after releasing its lock, so a slow
close (pymongo ends its sessions on the server) never stalls other threads'
`get_client`.
"""

import threading
from collections.abc import Callable, Iterator
from typing import Any

import mongomock
import pytest
from mongomock.store import ServerStore
from pymongo.errors import InvalidOperation

from core.utils.clients import get_client, registry
from core.utils.documentdb.client import DocumentDBClient
from core.utils.documentdb.errors import DocumentDBUnavailable
from tests.core.utils.documentdb.conftest import add_connection

pytestmark = pytest.mark.django_db(transaction=True)

#: Bound on every wait below; reached only when the code under test is wrong.
WAIT_SECONDS = 5.0


class GatedMongoClient(mongomock.MongoClient):
    """mongomock refusing use after `close()` as pymongo >= 4 does, whose
    inserts wait at `gate` (so a test can hold one in flight), and whose
    `on_close` runs inside `close()`."""

    def __init__(self, *args: Any, gate: threading.Event, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gate = gate
        self.inserting = threading.Event()
        self.closed = False
        self.on_close: Callable[[], None] = lambda: None

    def close(self) -> None:
        self.on_close()
        self.closed = True
        super().close()

    def get_default_database(self, *args: Any, **kwargs: Any) -> Any:
        database = super().get_default_database(*args, **kwargs)
        client = self

        class Database:
            def __getitem__(self, name: str) -> "GatedCollection":
                return GatedCollection(client, database[name])

        return Database()


class GatedCollection:
    """A mongomock collection behind `GatedMongoClient`'s rules."""

    def __init__(self, client: GatedMongoClient, collection: Any) -> None:
        self._client = client
        self._collection = collection

    def _usable(self) -> None:
        if self._client.closed:
            raise InvalidOperation("Cannot use MongoClient after close")

    def create_index(self, *args: Any, **kwargs: Any) -> Any:
        self._usable()
        return self._collection.create_index(*args, **kwargs)

    def insert_one(self, document: dict[str, Any]) -> Any:
        self._client.inserting.set()
        assert self._client.gate.wait(WAIT_SECONDS), "the test never opened the gate"
        self._usable()  # closed meanwhile: the write fails, as in pymongo
        return self._collection.insert_one(document)


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    """Open by default; a test clears it to hold inserts in flight."""
    event = threading.Event()
    event.set()
    yield event
    event.set()


@pytest.fixture
def gated_docdb(settings, gate: threading.Event) -> Iterator[None]:
    store = ServerStore()
    settings.SERVICES = {
        **settings.SERVICES,
        "docdb": {
            "BACKEND": "core.utils.documentdb.client.DocumentDBClient",
            "OPTIONS": {
                "mongo_client_factory": lambda *a, **k: GatedMongoClient(
                    *a, _store=store, gate=gate, **k
                ),
            },
        },
    }
    settings.SERVICE_ACCOUNT_CLIENTS_MAX = 1
    registry.reset()
    yield
    registry.reset()


def in_thread(work: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    """Start `work` in a thread; the list gets its result or exception."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(work())
        except Exception as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def test_an_evicted_client_finishes_the_write_in_flight(gated_docdb, gate):
    add_connection(1)
    add_connection(2)
    one = get_client("docdb", account_id=1)
    gate.clear()
    writer, outcome = in_thread(lambda: one.write_log("hl7", {"n": 1}))
    assert one._mongo.inserting.wait(WAIT_SECONDS)

    get_client("docdb", account_id=2)  # the bound is 1: account 1's is dropped

    assert not one._mongo.closed  # not under the write's feet
    gate.set()
    writer.join(WAIT_SECONDS)
    assert len(outcome) == 1 and isinstance(outcome[0], str), outcome
    assert one._mongo.closed  # closed as the write finished


def test_a_dropped_client_tells_its_holder_to_ask_again():
    # Real pymongo: a closed MongoClient refuses work before selecting a
    # server, so no server is needed (port 9 would never answer anyway).
    add_connection(1, "mongodb://lab_app:secret@127.0.0.1:9/lis")
    client = DocumentDBClient(1)
    client.close()

    with pytest.raises(DocumentDBUnavailable, match="get_client") as raised:
        client.write_log("hl7", {"n": 1})
    assert "secret" not in str(raised.value)
    client.close()  # a second close is harmless


def test_the_registry_closes_an_evicted_client_after_releasing_its_lock(
    gated_docdb,
):
    add_connection(1)
    add_connection(2)
    one = get_client("docdb", account_id=1)
    seen_from_another_thread: list[Any] = []

    def close_while_another_thread_asks() -> None:
        asker, outcome = in_thread(lambda: get_client("docdb", account_id=2))
        asker.join(WAIT_SECONDS)  # times out if the lock is still held
        seen_from_another_thread.extend(outcome)

    one._mongo.on_close = close_while_another_thread_asks

    two = get_client("docdb", account_id=2)

    assert seen_from_another_thread == [two]
