"""The append-only trigger now allows one change: an entry's `sealed` flag
going from false to true, with every other column unchanged."""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION core_refuse_audit_change() RETURNS trigger AS $$
BEGIN
    -- Columns are read through to_jsonb: the seal table has no "sealed".
    IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'core_activitylog' THEN
        IF (to_jsonb(OLD) ->> 'sealed') = 'false'
           AND (to_jsonb(NEW) ->> 'sealed') = 'true'
           AND (to_jsonb(NEW) - 'sealed') = (to_jsonb(OLD) - 'sealed') THEN
            RETURN NEW;
        END IF;
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
    dependencies = [("core", "0005_activity_log_sealed_flag")]

    operations = [migrations.RunPython(replace_function, migrations.RunPython.noop)]
