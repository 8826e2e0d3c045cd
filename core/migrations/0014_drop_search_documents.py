"""Drop the database search store's tables (SearchDocument, SearchIndex).

`DatabaseSearchClient`, the `es` service's old embedded default, is gone: no
production path read it (without Elasticsearch the activity log reads its own
table). Something did write to it: `manage.py ship_activity_logs` and the
`ship_activity_logs` job copied entries into it and marked them shipped. So,
before the tables go:

- an `activity-*` document whose entry is no longer in core_activitylog (the
  retention prune removed it, trusting the copy) is the entry's only copy:
  the migration stops and says how to keep it, and drops nothing;
- an entry still in the table but marked shipped to this store alone is
  marked unshipped again, so it goes to Elasticsearch once ES_URL is set
  and no prune removes it before. On PostgreSQL the append-only trigger
  refuses that flip, so it is disabled for this one UPDATE, in the
  migration's transaction (only when there is something to flip).
"""

from django.db import migrations

#: core.utils.activity_log.index.INDEX_PREFIX, frozen as it was.
ACTIVITY_INDEX_PREFIX = "activity-"
BATCH_SIZE = 500
TRIGGER = "core_activitylog_append_only"


def _entry_id_batches(apps, alias):
    documents = apps.get_model("core", "SearchDocument").objects.using(alias)
    doc_ids = (
        documents.filter(index__startswith=ACTIVITY_INDEX_PREFIX)
        .values_list("doc_id", flat=True)
        .distinct()
        .order_by("doc_id")
        .iterator(chunk_size=BATCH_SIZE)
    )
    batch = []
    for doc_id in doc_ids:
        if doc_id.isdigit():  # the shipper's ids; anything else is not an entry
            batch.append(int(doc_id))
        if len(batch) == BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch


def keep_what_only_the_store_held(apps, schema_editor):
    alias = schema_editor.connection.alias
    entries = apps.get_model("core", "ActivityLog").objects.using(alias)
    only_copies = 0
    for batch in _entry_id_batches(apps, alias):
        present = set(entries.filter(id__in=batch).values_list("id", flat=True))
        only_copies += len(set(batch) - present)
    if only_copies:
        raise RuntimeError(
            f"{only_copies} activity-log entries exist only in core_searchdocument "
            "(copied there by ship_activity_logs without ES_URL, then pruned from "
            "core_activitylog). Dropping that table would lose them. Export it "
            "first (e.g. pg_dump --table=core_searchdocument), then delete its "
            "rows (TRUNCATE core_searchdocument) and migrate again."
        )
    for batch in _entry_id_batches(apps, alias):
        shipped = entries.filter(id__in=batch, shipped=True)
        if shipped.exists():
            _unmark(schema_editor, shipped)


def _unmark(schema_editor, shipped):
    postgresql = schema_editor.connection.vendor == "postgresql"
    if postgresql:
        schema_editor.execute(f"ALTER TABLE core_activitylog DISABLE TRIGGER {TRIGGER}")
    shipped.update(shipped=False)
    if postgresql:
        schema_editor.execute(f"ALTER TABLE core_activitylog ENABLE TRIGGER {TRIGGER}")


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0013_counter"),
    ]

    operations = [
        migrations.RunPython(keep_what_only_the_store_held, migrations.RunPython.noop),
        migrations.RemoveConstraint(
            model_name="searchdocument",
            name="searchdoc_unique_index_doc_id",
        ),
        migrations.DeleteModel(
            name="SearchDocument",
        ),
        migrations.DeleteModel(
            name="SearchIndex",
        ),
    ]
