"""Session and cookie settings as production and development get them from
the environment: Secure cookies without DEBUG, sessions in Redis exactly
when the cache service is Redis."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.engine_independent

REPO = Path(__file__).resolve().parents[2]
PRINT_SETTINGS = (
    "import json; from config.settings import base as s; "
    "print(json.dumps([s.SESSION_ENGINE, s.SESSION_COOKIE_SECURE, "
    "s.SESSION_COOKIE_HTTPONLY, s.SESSION_COOKIE_SAMESITE, s.CSRF_COOKIE_SECURE, "
    "s.MIDDLEWARE.index('core.middleware.request_id.RequestIdMiddleware')]))"
)


def settings_with(tmp_path: Path, **env: str) -> list:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_", "LIS_", "CACHE_", "SESSION_"))
    }
    clean.update({"LIS_DATA_DIR": str(tmp_path), **env})
    result = subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS],
        cwd=REPO,
        env=clean,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout))


def test_production_cookies_are_secure_httponly_and_lax(tmp_path):
    engine, secure, httponly, samesite, csrf_secure, position = settings_with(
        tmp_path, DJANGO_DEBUG="0", DJANGO_SECRET_KEY="x" * 50
    )

    assert (secure, httponly, samesite, csrf_secure) == (True, True, "Lax", True)
    assert engine == "django.contrib.sessions.backends.db"
    # right after liveness and the metrics: every other answer has an id
    assert position == 2


def test_development_cookies_work_over_plain_http(tmp_path):
    _, secure, httponly, _, csrf_secure, _ = settings_with(tmp_path)

    assert (secure, httponly, csrf_secure) == (False, True, False)


def test_sessions_follow_the_cache_into_redis(tmp_path):
    redis = settings_with(tmp_path, CACHE_REDIS_URL="redis://cache.internal:6379/0")
    cluster = settings_with(
        tmp_path, CACHE_REDIS_CLUSTER_NODES="10.0.0.1:7000,10.0.0.2:7000"
    )

    assert redis[0] == cluster[0] == "core.auth.sessions"
