"""The benchmarks' own PostgreSQL database: created if missing and migrated,
so BaseModel's tables (activity log, cache bookkeeping) exist."""

import psycopg
from django.conf import settings
from django.core.management import call_command


def prepare_database() -> None:
    """Create settings' database if it does not exist, then migrate it."""
    config = settings.DATABASES["default"]
    if config["ENGINE"] == "django.db.backends.postgresql":
        with psycopg.connect(
            host=config["HOST"] or None,
            port=config["PORT"] or None,
            user=config["USER"] or None,
            dbname="postgres",
            autocommit=True,
        ) as admin:
            exists = admin.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]]
            ).fetchone()
            if not exists:
                admin.execute(f'CREATE DATABASE "{config["NAME"]}"')
    call_command("migrate", verbosity=0)
