"""The shipper's quarantine: entries Elasticsearch refused permanently (a
per-item 400), kept out of the shipping batches until retried. A table of
its own, so the activity log's append-only trigger and hashes are untouched.
Numbered 0018 on its branch; other branches add 0015-0017."""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0014_drop_search_documents"),
    ]

    operations = [
        migrations.CreateModel(
            name="ActivityLogShipQuarantine",
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
                ("entry_id", models.BigIntegerField(unique=True)),
                ("lab_id", models.BigIntegerField(blank=True, null=True)),
                (
                    "status",
                    models.PositiveSmallIntegerField(
                        help_text="Elasticsearch's HTTP status."
                    ),
                ),
                ("error_type", models.CharField(max_length=200)),
                ("reason", models.TextField()),
                ("attempts", models.PositiveIntegerField(default=1)),
                (
                    "quarantined_at",
                    models.DateTimeField(default=django.utils.timezone.now),
                ),
                (
                    "last_attempt_at",
                    models.DateTimeField(default=django.utils.timezone.now),
                ),
            ],
            options={
                "ordering": ["entry_id"],
            },
        ),
    ]
