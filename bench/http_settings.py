"""Settings of the core stack in bench/bench_http.py: bench.settings (the
test settings plus the bench app, DEBUG off) with the instance cache and
sessions on Redis, served over plain HTTP on loopback.

The database is its own, `lis_bench_http` (DATABASE_URL overrides it), and
Redis is BENCH_REDIS_URL (default redis://127.0.0.1:6379/15), both chosen
before the settings below read the environment.
"""

import os

os.environ.setdefault(
    "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/lis_bench_http"
)
os.environ.setdefault(
    "CACHE_REDIS_URL",
    os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"),
)

from bench.settings import *  # noqa: F403

# Sessions in Redis, as in production with CACHE_REDIS_URL set (base.py
# chooses this engine itself then; stated here so the bench cannot drift).
SESSION_ENGINE = "core.auth.sessions"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
# Plain HTTP on loopback: a Secure cookie would never be sent back, and no
# request may be redirected to HTTPS.
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
