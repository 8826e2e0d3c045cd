"""Settings for benchmarks: the test settings plus the bench app.

DATABASE_URL defaults to the machine's PostgreSQL, where the target is set.
"""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/lis_bench")

from config.settings.test import *

INSTALLED_APPS = [*INSTALLED_APPS, "simple_history", "auditlog", "bench"]

# Production-like: DEBUG would record every query and slow both sides.
DEBUG = False
