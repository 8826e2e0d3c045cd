"""Chain formats: every seal records the format its hash was made in.

The seals already stored were made with Python's json.dumps: they get
format 1, and not one stored hash changes. Seals made from now on use
format 2, RFC 8785 (core/activity_log/hashing.py, docs/audit-trail.md), so
the first format-2 seal of each chain is the recorded point of the change.
On PostgreSQL, adding a column with a default rewrites no row and fires no
trigger (the append-only trigger refuses UPDATE and DELETE only).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0019_documentdb_url_encrypted"),
    ]

    operations = [
        migrations.AddField(
            model_name="activitylogseal",
            name="format",
            field=models.PositiveSmallIntegerField(
                default=1,
                help_text="The chain format: 1 = Python's json.dumps, 2 = RFC 8785 (JCS).",
            ),
        ),
        migrations.AlterField(
            model_name="activitylogseal",
            name="format",
            field=models.PositiveSmallIntegerField(
                default=2,
                help_text="The chain format: 1 = Python's json.dumps, 2 = RFC 8785 (JCS).",
            ),
        ),
    ]
