"""Settings for the test suite: `base` plus the test-only app and fast hashing.

The database comes from DATABASE_URL like everywhere else; scripts/test.sh
runs the suite on PostgreSQL and on SQLite, side by side, each with a
data folder of its own (LIS_DATA_DIR).
"""

import os
import tempfile
from pathlib import Path

from config.settings.base import *

INSTALLED_APPS = [*INSTALLED_APPS, "tests.lifecycle"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING["root"]["level"] = "WARNING"  # type: ignore[index]

# A file, not SQLite's default in-memory test database: the job queue's tests
# run real worker processes, which must open the same database. One file per
# pytest process (pid), so runs side by side never share or delete it.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {
        "NAME": str(Path(tempfile.gettempdir()) / f"lis-test-{os.getpid()}.sqlite3")
    }

# The test runner turns DEBUG off, so the embedded default's stand-ins
# (log-only Slack and Pusher, local files, the in-process cache, no search
# server, integration logs in the database) are chosen here, as production
# chooses its own (LIS_LOCAL_SERVICES); tests of the refusal clear it.
LOCAL_SERVICES = ["cache", "docdb", "es", "pusher", "s3", "slack"]

# As in production: loopback and private receivers are refused unless a test
# allows them, or the environment does for a test's worker processes (base
# allows them whenever DEBUG is on, for development).
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env_bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", False)

# Django empties the test database between transactional tests with TRUNCATE,
# which PostgreSQL refuses on the audit tables (core migration 0022) unless
# the session set `lis.audit_flush`. Only the test suite's connections do;
# a test of the refusal turns it off for its own transaction.
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c lis.audit_flush=on"

# The schedules' clock (core/fusion/schedules/clock.py): a file holding "now"
# for the scheduler, so a test moves the clock of its worker processes.
# Tests only: production settings have no such thing.
FUSION_SCHEDULE_CLOCK_FILE = env_str("FUSION_SCHEDULE_CLOCK_FILE", "")
