"""Settings of the "django" stack in bench/bench_http.py: the plain baseline
(bench.http_plain.settings) with the middleware of Django's own project
template (`startproject`), so the run shows how much of core's cost is
Django's standard middleware and how much is core's own.

Its views never touch the session or the user, so SessionMiddleware and
AuthenticationMiddleware stay lazy, as in any plain Django view that does not
ask who is signed in.
"""

from bench.http_plain.settings import *  # noqa: F403
from bench.http_plain.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "django.contrib.sessions", "django.contrib.messages"]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
