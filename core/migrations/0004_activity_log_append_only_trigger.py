"""On PostgreSQL, the database itself refuses UPDATE and DELETE on the
activity log's entries and seals, whatever the application does. Other
databases rely on the models' and querysets' refusals."""

from django.db import migrations

TABLES = ("core_activitylog", "core_activitylogseal")

FUNCTION = """
CREATE OR REPLACE FUNCTION core_refuse_audit_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'activity log rows are append-only (%% on %%)', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION)
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION core_refuse_audit_change()"
        )


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS core_refuse_audit_change()")


class Migration(migrations.Migration):
    dependencies = [("core", "0003_activity_log")]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
