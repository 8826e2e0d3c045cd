"""Settings for benchmarks: the test settings plus the bench app.

DATABASE_URL defaults to the machine's PostgreSQL, where the target is set.
"""

import base64
import os
import secrets

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/lis_bench")
# DEBUG is off below, which requires a checkpoint signing key (core.E050): a
# throw-away Ed25519 key (32 raw bytes, base64) for the bench database, set in
# the environment so the worker processes a bench starts share it.
os.environ.setdefault(
    "ACTIVITY_LOG_SIGNING_KEY", base64.b64encode(secrets.token_bytes(32)).decode()
)

from config.settings.test import *

INSTALLED_APPS = [*INSTALLED_APPS, "simple_history", "auditlog", "bench"]

# Production-like: DEBUG would record every query and slow both sides.
DEBUG = False
