"""The benchmarks' own PostgreSQL database: created if missing and migrated,
so BaseModel's tables (activity log, cache bookkeeping) exist."""

from typing import Any

import psycopg
from django.conf import settings
from django.core.management import call_command
from django.db import connections


def _admin_connection() -> psycopg.Connection[Any]:
    config = settings.DATABASES["default"]
    return psycopg.connect(
        host=config["HOST"] or None,
        port=config["PORT"] or None,
        user=config["USER"] or None,
        dbname="postgres",
        autocommit=True,
    )


def drop_database() -> None:
    """Drop settings' PostgreSQL database (closing this process's connections)."""
    config = settings.DATABASES["default"]
    if config["ENGINE"] != "django.db.backends.postgresql":
        return
    connections.close_all()
    with _admin_connection() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{config["NAME"]}" WITH (FORCE)')


def prepare_database() -> None:
    """Create settings' database if it does not exist, then migrate it."""
    config = settings.DATABASES["default"]
    if config["ENGINE"] == "django.db.backends.postgresql":
        with _admin_connection() as admin:
            exists = admin.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]]
            ).fetchone()
            if not exists:
                admin.execute(f'CREATE DATABASE "{config["NAME"]}"')
    call_command("migrate", verbosity=0)
