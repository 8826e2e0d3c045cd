from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("lifecycle_tests", "0003_tube"),
    ]

    operations = [
        migrations.CreateModel(
            name="GuardedInstrument",
            fields=[],
            options={
                "proxy": True,
                "indexes": [],
                "constraints": [],
            },
            bases=("lifecycle_tests.instrument",),
        ),
    ]
