"""Settings of the plain baseline in bench/bench_http.py.

Only what reading a patient needs: the same database and encryption keys as
the core stack (bench.http_settings), the apps the Patient model's relations
need, and no middleware at all, so a request is the URL resolver, the view
and its one query.
"""

from bench.http_settings import (
    BLIND_INDEX_KEY,
    DATABASES,
    DEFAULT_AUTO_FIELD,
    ENCRYPTION_DEVELOPMENT_KEY_FILE,
    ENCRYPTION_KEYS,
    SECRET_KEY,
    SERVICES,
    TIME_ZONE,
    USE_TZ,
)

__all__ = [
    "ALLOWED_HOSTS",
    "AUTH_USER_MODEL",
    "BLIND_INDEX_KEY",
    "DATABASES",
    "DEBUG",
    "DEFAULT_AUTO_FIELD",
    "ENCRYPTION_DEVELOPMENT_KEY_FILE",
    "ENCRYPTION_KEYS",
    "INSTALLED_APPS",
    "MIDDLEWARE",
    "ROOT_URLCONF",
    "SECRET_KEY",
    "SERVICES",
    "TIME_ZONE",
    "USE_TZ",
    "WSGI_APPLICATION",
]

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "core",
    "admin.account",
    "patients",
]
AUTH_USER_MODEL = "account.User"
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "bench.http_plain.urls"
WSGI_APPLICATION = "bench.http_plain.wsgi.application"
