"""An index for the database engine's claim: due jobs of one backend and
queue, in claim order (core/fusion/db_claims.py).

django-tasks-db's own partial index leads with `status` and has no backend
or queue column, so with a churning table (stale statistics, dead index
entries) PostgreSQL chose a bitmap scan of the backend and queue indexes
over every row ever kept, then a sort: about 2.5 ms per claim with 1,000
ready jobs among 20,000 rows, against 0.04 ms with this index. The table is
django-tasks-db's, so the index is raw SQL here, not a model option; the
same statement works on PostgreSQL and SQLite (both have partial indexes).
"""

from django.db import migrations

TABLE = "django_tasks_database_dbtaskresult"
INDEX = "fusion_ready_claim_idx"


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0021_activity_log_checkpoints"),
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
    ]

    operations = [
        migrations.RunSQL(
            sql=(
                f"CREATE INDEX IF NOT EXISTS {INDEX} ON {TABLE} "
                "(backend_name, queue_name, priority DESC, run_after, enqueued_at) "
                "WHERE status = 'READY'"
            ),
            reverse_sql=f"DROP INDEX IF EXISTS {INDEX}",
        ),
    ]
