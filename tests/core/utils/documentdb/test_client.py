"""DocumentDBClient specifics: built per account through get_client from the
account's DocumentDBConnection, indexes, what the caller sees when the
server is down or silent (real pymongo, real sockets), and that the
connection URL's password never leaks."""

import logging
import socket
import threading
from collections.abc import Iterator
from typing import Any

import mongomock
import pytest

from core.utils.clients import get_client, registry
from core.utils.documentdb.client import DocumentDBClient
from core.utils.documentdb.errors import (
    DocumentDBConnectionMissing,
    DocumentDBUnavailable,
)
from tests.core.utils.documentdb.conftest import URL_PASSWORD, add_connection, mongo_url

pytestmark = pytest.mark.django_db

#: The in-memory cluster behind the dotted-path factory below.
SETTINGS_STORE = mongomock.store.ServerStore()


def settings_mongo_client(*args: Any, **kwargs: Any) -> mongomock.MongoClient:
    """A `mongo_client_factory` named by dotted path in settings."""
    return mongomock.MongoClient(*args, _store=SETTINGS_STORE, **kwargs)


@pytest.fixture
def docdb_settings(settings) -> Iterator[None]:
    registry.reset()
    settings.SERVICES = {
        **settings.SERVICES,
        "docdb": {
            "BACKEND": "core.utils.documentdb.client.DocumentDBClient",
            "OPTIONS": {"mongo_client_factory": f"{__name__}.settings_mongo_client"},
        },
    }
    yield
    registry.reset()


def test_get_client_builds_one_client_per_account_from_its_connection(docdb_settings):
    add_connection(7)
    add_connection(8)

    seven = get_client("docdb", account_id=7)
    seven.write_log("payments", {"amount": 1})

    assert isinstance(seven, DocumentDBClient)
    assert get_client("docdb", account_id=7) is seven
    assert get_client("docdb", account_id=8) is not seven
    assert get_client("docdb", account_id=8).query_logs() == []


def test_an_account_without_a_connection_is_a_clear_error(docdb_settings):
    add_connection(7)

    with pytest.raises(DocumentDBConnectionMissing) as excinfo:
        get_client("docdb", account_id=99)

    message = str(excinfo.value)
    assert "Account 99 has no DocumentDB connection" in message
    assert "DocumentDBConnection(account_id=99" in message
    assert "docdb.internal" not in message


def test_documents_carry_the_account_and_the_query_indexes_exist(mongo_factory):
    add_connection(7)
    client = DocumentDBClient(7, mongo_client_factory=mongo_factory)

    client.write_log("payments", {"amount": 1})

    # Look at the stored collection through a second client on the same cluster.
    collection = mongo_factory(mongo_url())["lis"]["integration_logs"]
    [document] = collection.find()
    assert document["account_id"] == 7
    assert {"account_integration_created", "account_created"} <= set(
        collection.index_information()
    )


def test_the_url_password_is_never_in_repr_or_logs(mongo_factory, caplog):
    add_connection(7)
    caplog.set_level(logging.INFO, logger="core.utils.documentdb")

    client = DocumentDBClient(7, mongo_client_factory=mongo_factory)

    assert "mongodb://***@docdb.internal:27017/lis?***" in repr(client)
    assert "built" in caplog.text and "***@docdb.internal" in caplog.text
    assert URL_PASSWORD not in repr(client) + caplog.text


def test_an_unusable_url_names_the_account_not_the_password():
    add_connection(7, f"mongodb://lab_app:{URL_PASSWORD}@docdb.internal:notaport/lis")

    with pytest.raises(DocumentDBConnectionMissing) as excinfo:
        DocumentDBClient(7)  # the real pymongo.MongoClient

    assert "connection of account 7" in str(excinfo.value)
    assert "correct its connection_url" in str(excinfo.value)
    assert URL_PASSWORD not in _whole_chain(excinfo.value)


# -- the server down or silent: the real pymongo client ----------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP server that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    listener.close()


def _real_client(port: int) -> DocumentDBClient:
    add_connection(7, mongo_url(f"127.0.0.1:{port}"))
    return DocumentDBClient(
        7,
        server_selection_timeout_seconds=0.3,
        connect_timeout_seconds=0.3,
        socket_timeout_seconds=0.3,
        operation_timeout_seconds=0.4,
    )


@pytest.mark.parametrize("server", ["down", "silent"])
def test_an_unreachable_server_is_reported_not_hung_on(server, silent_server):
    # Given an account whose DocumentDB is down (nothing listens) or silent
    port = _closed_port() if server == "down" else silent_server
    client = _real_client(port)
    try:
        # When the app writes and reads logs
        with pytest.raises(DocumentDBUnavailable) as write_error:
            client.write_log("payments", {"amount": 1})
        with pytest.raises(DocumentDBUnavailable) as read_error:
            client.query_logs()
        status = client.check(timeout=0.5)
    finally:
        client.close()

    # Then each call returns with an error that names the account, not the URL
    for error in (write_error.value, read_error.value):
        assert "for account 7: DocumentDB could not be reached" in str(error)
        assert "Try again later." in str(error)
        assert URL_PASSWORD not in _whole_chain(error)
    assert not status.ok
    assert URL_PASSWORD not in status.detail


def _whole_chain(error: BaseException | None) -> str:
    """The messages of an exception and everything chained to it."""
    text = ""
    while error is not None:
        text += f"{error!r} {error}\n"
        error = error.__cause__ or error.__context__
    return text
