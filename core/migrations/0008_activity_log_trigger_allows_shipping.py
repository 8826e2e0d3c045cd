"""The append-only trigger allows an entry's `sealed` and `shipped` flags to
go from false to true, and nothing else to change."""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION core_refuse_audit_change() RETURNS trigger AS $$
DECLARE
    flags text[] := ARRAY['sealed', 'shipped'];
    flag text;
BEGIN
    -- Columns are read through to_jsonb: the seal table has no flags.
    IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'core_activitylog'
       AND (to_jsonb(NEW) - flags) = (to_jsonb(OLD) - flags) THEN
        FOREACH flag IN ARRAY flags LOOP
            IF (to_jsonb(OLD) ->> flag) = 'true' AND (to_jsonb(NEW) ->> flag) = 'false' THEN
                RAISE EXCEPTION 'activity log rows are append-only (%% cannot be undone)', flag
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
        END LOOP;
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'activity log rows are append-only (%% on %%)', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def replace_function(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION)


class Migration(migrations.Migration):
    dependencies = [("core", "0007_activity_log_shipped_flag")]

    operations = [migrations.RunPython(replace_function, migrations.RunPython.noop)]
