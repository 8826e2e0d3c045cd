"""The benchmarks' own PostgreSQL database: created if missing and migrated,
so BaseModel's tables (activity log, cache bookkeeping) exist."""

from collections.abc import Mapping
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


#: A benchmark creates, migrates and drops its database: its name must say
#: it is a benchmark's, so that a DATABASE_URL naming `postgres` (or a lab's
#: database) is refused, not migrated into and dropped.
BENCH_DATABASE_PREFIX = "lis_bench"


def bench_database_name(config: Mapping[str, Any]) -> str:
    """The name of the database `config` (a DATABASES entry) names; exits
    naming the rule when it is PostgreSQL's and does not start with
    BENCH_DATABASE_PREFIX."""
    name = str(config["NAME"])
    postgres = config["ENGINE"] == "django.db.backends.postgresql"
    if postgres and not name.startswith(BENCH_DATABASE_PREFIX):
        raise SystemExit(
            f"The benchmark would create, migrate and drop database {name!r}; "
            f"give DATABASE_URL a database named {BENCH_DATABASE_PREFIX}..."
        )
    return name


def drop_database() -> None:
    """Drop settings' PostgreSQL database (closing this process's connections)."""
    config = settings.DATABASES["default"]
    if config["ENGINE"] != "django.db.backends.postgresql":
        return
    bench_database_name(config)
    connections.close_all()
    with _admin_connection() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{config["NAME"]}" WITH (FORCE)')


def prepare_database() -> None:
    """Create settings' database if it does not exist, then migrate it."""
    config = settings.DATABASES["default"]
    bench_database_name(config)
    if config["ENGINE"] == "django.db.backends.postgresql":
        with _admin_connection() as admin:
            exists = admin.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]]
            ).fetchone()
            if not exists:
                admin.execute(f'CREATE DATABASE "{config["NAME"]}"')
    call_command("migrate", verbosity=0)
