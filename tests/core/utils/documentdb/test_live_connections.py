"""DocumentDB connections are live and bounded: an edited or deleted
`DocumentDBConnection` takes effect without a restart (at once in the
process that saved it, within DOCDB_CONNECTION_REFRESH_SECONDS elsewhere),
per-account clients are kept LRU-bounded and closed when dropped, and the
URL is encrypted at rest."""

from collections.abc import Callable, Iterator
from typing import Any

import mongomock
import pytest
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from mongomock.store import ServerStore

from core.models import ActivityLog, DocumentDBConnection
from core.utils.clients import ClientRegistry, get_client, registry
from core.utils.documentdb.errors import DocumentDBConnectionMissing
from tests.core.utils.documentdb.conftest import URL_PASSWORD, add_connection, mongo_url

pytestmark = pytest.mark.django_db(transaction=True)

CLIENT = "core.utils.documentdb.client.DocumentDBClient"


class RecordingMongoClient(mongomock.MongoClient):
    """mongomock's client, remembering whether it was closed."""

    built: list["RecordingMongoClient"] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.closed = False
        RecordingMongoClient.built.append(self)

    def close(self) -> None:
        self.closed = True
        super().close()


@pytest.fixture
def use_docdb(settings) -> Iterator[Callable[..., None]]:
    """Point the docdb service at DocumentDBClient on mongomock, with
    `refresh` seconds between version checks."""
    store = ServerStore()

    def use(refresh: float = 3600) -> None:
        settings.SERVICES = {
            **settings.SERVICES,
            "docdb": {
                "BACKEND": CLIENT,
                "OPTIONS": {
                    "mongo_client_factory": lambda *a, **k: RecordingMongoClient(
                        *a, _store=store, **k
                    ),
                    "connection_refresh_seconds": refresh,
                },
            },
        }
        registry.reset()

    RecordingMongoClient.built = []
    yield use
    registry.reset()


def mongo(client: Any) -> RecordingMongoClient:
    return client._mongo


# -- an edit is live ------------------------------------------------------------


def test_an_edit_replaces_the_client_once_it_commits(use_docdb):
    use_docdb()
    row = add_connection(7, mongo_url("old.internal:27017"))
    old = get_client("docdb", account_id=7)

    row.connection_url = mongo_url("new.internal:27017")
    with transaction.atomic():
        row.save()
        assert get_client("docdb", account_id=7) is old  # not before commit

    new = get_client("docdb", account_id=7)
    assert new is not old
    assert "new.internal" in new.masked_url
    assert mongo(old).closed


def test_a_rolled_back_edit_keeps_the_client(use_docdb):
    use_docdb()
    row = add_connection(7, mongo_url("old.internal:27017"))
    old = get_client("docdb", account_id=7)

    with transaction.atomic():
        row.connection_url = mongo_url("new.internal:27017")
        row.save()
        transaction.set_rollback(True)

    assert get_client("docdb", account_id=7) is old
    assert not mongo(old).closed


def test_a_deleted_connection_is_no_longer_used(use_docdb):
    use_docdb()
    row = add_connection(7)
    old = get_client("docdb", account_id=7)

    row.delete()

    assert mongo(old).closed
    with pytest.raises(DocumentDBConnectionMissing):
        get_client("docdb", account_id=7)


def test_moving_a_connection_to_another_account_forgets_both(use_docdb):
    use_docdb()
    row = add_connection(7)
    seven = get_client("docdb", account_id=7)

    row.account_id = 8
    row.save()

    assert mongo(seven).closed
    with pytest.raises(DocumentDBConnectionMissing):
        get_client("docdb", account_id=7)
    assert get_client("docdb", account_id=8).account_id == 8


def test_another_process_replaces_its_client_after_the_refresh_interval(use_docdb):
    # Another process's registry did not see the save; it asks the row's
    # version when its client is older than the refresh interval (0 here).
    use_docdb(refresh=0)
    row = add_connection(7, mongo_url("old.internal:27017"))
    elsewhere = ClientRegistry()
    old = elsewhere.get("docdb", 7)

    row.connection_url = mongo_url("new.internal:27017")
    row.save()

    new = elsewhere.get("docdb", 7)
    assert new is not old and "new.internal" in new.masked_url
    assert mongo(old).closed
    assert elsewhere.get("docdb", 7) is new  # unchanged row: kept


def test_within_the_refresh_interval_another_process_keeps_its_client(use_docdb):
    use_docdb(refresh=3600)
    row = add_connection(7, mongo_url("old.internal:27017"))
    elsewhere = ClientRegistry()
    old = elsewhere.get("docdb", 7)

    row.connection_url = mongo_url("new.internal:27017")
    row.save()

    assert elsewhere.get("docdb", 7) is old


# -- bounded -----------------------------------------------------------------


def test_per_account_clients_are_bounded_least_recently_used_first(use_docdb, settings):
    use_docdb()
    settings.SERVICE_ACCOUNT_CLIENTS_MAX = 2
    for account in (1, 2, 3):
        add_connection(account)
    one = get_client("docdb", account_id=1)
    two = get_client("docdb", account_id=2)
    assert get_client("docdb", account_id=1) is one  # 1 is now the most recent

    three = get_client("docdb", account_id=3)

    assert mongo(two).closed and not mongo(one).closed and not mongo(three).closed
    assert get_client("docdb", account_id=1) is one
    rebuilt = get_client("docdb", account_id=2)
    assert rebuilt is not two and mongo(three).closed  # 3 was least recent then
    assert not mongo(one).closed


def test_the_bound_does_not_touch_settings_built_clients(use_docdb, settings):
    use_docdb()
    settings.SERVICE_ACCOUNT_CLIENTS_MAX = 1
    cache = get_client("cache")
    for account in (1, 2):
        add_connection(account)
        get_client("docdb", account_id=account)

    assert get_client("cache") is cache


# -- encrypted at rest ----------------------------------------------------------


def raw_url(pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT connection_url FROM core_documentdbconnection WHERE id = %s", [pk]
        )
        return cursor.fetchone()[0]


def test_the_url_is_stored_encrypted_and_read_back_in_clear():
    row = add_connection(7)

    assert URL_PASSWORD not in raw_url(row.pk)
    assert "docdb.internal" not in raw_url(row.pk)
    assert DocumentDBConnection.objects.get(pk=row.pk).connection_url == mongo_url()


def test_the_activity_log_masks_the_url():
    add_connection(7)

    entry = ActivityLog.objects.get(model_label="core.documentdbconnection")
    assert URL_PASSWORD not in str(entry.changes)
    assert "connection_url" in entry.changes


BEFORE = [("core", "0018_activity_log_ship_quarantine")]
AFTER = [("core", "0019_documentdb_url_encrypted")]


@pytest.fixture
def at_0018() -> Iterator[Any]:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    yield MigrationExecutor(connection).loader.project_state(BEFORE).apps
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes("core"))


def test_the_migration_encrypts_stored_urls_and_going_back_decrypts_them(at_0018):
    historical = at_0018.get_model("core", "DocumentDBConnection")
    row = historical.objects.create(account_id=7, connection_url=mongo_url(), version=1)
    assert raw_url(row.pk) == mongo_url()

    MigrationExecutor(connection).migrate(AFTER)

    assert URL_PASSWORD not in raw_url(row.pk)
    migrated = DocumentDBConnection.objects.get(pk=row.pk)
    assert migrated.connection_url == mongo_url()
    assert migrated.version == 2  # other processes' clients see the change

    MigrationExecutor(connection).migrate(BEFORE)

    assert raw_url(row.pk) == mongo_url()


def test_a_failed_version_check_leaves_the_callers_transaction_usable(use_docdb):
    use_docdb(refresh=0)
    add_connection(7)
    elsewhere = ClientRegistry()
    client = elsewhere.get("docdb", 7)

    with transaction.atomic():
        with connection.cursor() as cursor:  # the check's table is gone
            cursor.execute("ALTER TABLE core_documentdbconnection RENAME TO moved")
        assert elsewhere.get("docdb", 7) is client  # kept: the check failed
        with connection.cursor() as cursor:  # and the transaction goes on
            cursor.execute("ALTER TABLE moved RENAME TO core_documentdbconnection")
