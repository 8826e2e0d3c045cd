"""Settings for the test suite: `base` plus the test-only app and fast hashing.

The database comes from DATABASE_URL like everywhere else; scripts/test.sh
runs the suite on PostgreSQL and then on SQLite.
"""

from config.settings.base import *

INSTALLED_APPS = [*INSTALLED_APPS, "tests.lifecycle"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING["root"]["level"] = "WARNING"  # type: ignore[index]
