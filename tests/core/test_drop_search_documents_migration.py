"""Migration core 0014 drops the database search store's tables, but never
an activity-log entry's only copy, and un-marks the entries that were
"shipped" to that store alone so they go to Elasticsearch later."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from core.models import ActivityLog
from tests.lifecycle.models import Instrument

BEFORE = [("core", "0013_counter")]
AFTER = [("core", "0014_drop_search_documents")]
INDEX = "activity-2026.12"


def migrate(targets: list[tuple[str, str]]) -> None:
    MigrationExecutor(connection).migrate(targets)


def tables() -> set[str]:
    return set(connection.introspection.table_names())


@pytest.fixture
def at_0013(transactional_db):
    """core at 0013 (the store's tables exist); back at the latest after."""
    migrate(BEFORE)
    yield MigrationExecutor(connection).loader.project_state(BEFORE).apps
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes("core"))


def entries(count: int) -> list[ActivityLog]:
    for n in range(count):
        Instrument(name=f"Analyser {n}", serial=f"S{n}").save()
    return list(ActivityLog.objects.order_by("id"))


def test_entries_shipped_only_to_the_store_are_unmarked_and_its_tables_dropped(
    at_0013,
):
    # Given entries "shipped" to the database store, and one shipped elsewhere
    in_store, elsewhere, pending = entries(3)
    ActivityLog.objects.filter(id__in=[in_store.id, elsewhere.id]).mark_shipped()
    document = at_0013.get_model("core", "SearchDocument")
    document.objects.create(index=INDEX, doc_id=str(in_store.id), body={})
    document.objects.create(index="other", doc_id=str(elsewhere.id), body={})

    # When the migration runs
    migrate(AFTER)

    # Then the store's entry waits to be shipped again, the others are as
    # they were, and the tables are gone
    shipped = dict(ActivityLog.objects.values_list("id", "shipped"))
    assert shipped == {in_store.id: False, elsewhere.id: True, pending.id: False}
    assert not {"core_searchdocument", "core_searchindex"} & tables()


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the trigger is PostgreSQL's"
)
def test_the_append_only_trigger_is_back_after_unmarking(at_0013):
    (entry,) = entries(1)
    ActivityLog.objects.filter(id=entry.id).mark_shipped()
    document = at_0013.get_model("core", "SearchDocument")
    document.objects.create(index=INDEX, doc_id=str(entry.id), body={})

    migrate(AFTER)

    ActivityLog.objects.filter(id=entry.id).mark_shipped()
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "UPDATE core_activitylog SET shipped = false WHERE id = %s", [entry.id]
        )


def test_an_entry_only_the_store_still_holds_stops_the_migration(at_0013):
    # Given a document whose entry the retention prune removed from the table
    document = at_0013.get_model("core", "SearchDocument")
    document.objects.create(index=INDEX, doc_id="987654", body={"message": "x"})

    # When the migration runs, then it refuses, saying how to keep the copy
    with pytest.raises(RuntimeError, match="1 activity-log entries exist only"):
        migrate(AFTER)

    # And nothing was dropped
    assert {"core_searchdocument", "core_searchindex"} <= tables()
    assert document.objects.filter(doc_id="987654").exists()

    # When the operator has kept a copy and emptied the table, it runs
    document.objects.all().delete()
    migrate(AFTER)
    assert "core_searchdocument" not in tables()
