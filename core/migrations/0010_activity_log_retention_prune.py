"""Retention: the prune record, and the append-only trigger's one exception.

An entry may be deleted only when it is sealed and shipped (it lives on in
Elasticsearch, and its seal stays behind) and the deleting transaction set
`lis.audit_prune` (what `ActivityLog.objects.prune()` does, for the
retention prune, which records each cut in ActivityLogPrune). Prune records
are append-only like the seals.
"""

import django.utils.timezone
from django.db import migrations, models

FUNCTION = """
CREATE OR REPLACE FUNCTION core_refuse_audit_change() RETURNS trigger AS $$
DECLARE
    flags text[] := ARRAY['sealed', 'shipped'];
    flag text;
BEGIN
    -- Columns are read through to_jsonb: the other tables have no flags.
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
    IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'core_activitylog'
       AND current_setting('lis.audit_prune', true) = 'on'
       AND (to_jsonb(OLD) ->> 'sealed') = 'true'
       AND (to_jsonb(OLD) ->> 'shipped') = 'true' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'activity log rows are append-only (%% on %%)', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""
PRUNE_TABLE = "core_activitylogprune"


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION)
    schema_editor.execute(
        f"CREATE TRIGGER {PRUNE_TABLE}_append_only BEFORE UPDATE OR DELETE ON "
        f"{PRUNE_TABLE} FOR EACH ROW EXECUTE FUNCTION core_refuse_audit_change()"
    )


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"DROP TRIGGER IF EXISTS {PRUNE_TABLE}_append_only ON {PRUNE_TABLE}"
    )


class Migration(migrations.Migration):
    dependencies = [("core", "0009_lab_translation")]

    operations = [
        migrations.CreateModel(
            name="ActivityLogPrune",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                (
                    "chain_lab_id",
                    models.BigIntegerField(help_text="0 for records without a lab."),
                ),
                ("through_sequence", models.BigIntegerField()),
                ("through_hash", models.CharField(max_length=64)),
                ("removed", models.PositiveIntegerField()),
                (
                    "cutoff",
                    models.DateTimeField(
                        help_text="Only entries older than this went."
                    ),
                ),
                ("pruned_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("chain_lab_id", "through_sequence"),
                        name="activity_prune_point",
                    )
                ],
            },
        ),
        migrations.RunPython(install, uninstall),
    ]
