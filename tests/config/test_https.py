"""HTTPS settings as production and development get them from the
environment (HSTS, the redirect, the proxy's header, trusted origins), and
what they do to requests: plain HTTP redirected but for the probes, HSTS on
what came over HTTPS through the proxy."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.checks import Warning
from django.test import Client
from pytest_django.fixtures import Settings

from core.checks import check_https_behind_a_proxy

REPO = Path(__file__).resolve().parents[2]
PRINT_SETTINGS = (
    "import json; from config.settings import base as s; "
    "print(json.dumps([s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, "
    "s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD, "
    "s.SECURE_PROXY_SSL_HEADER, s.CSRF_TRUSTED_ORIGINS]))"
)
PRODUCTION = {"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "x" * 50}
A_YEAR_SECONDS = 365 * 24 * 60 * 60
FORWARDED_PROTO = ("HTTP_X_FORWARDED_PROTO", "https")


def start(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Load the settings in a fresh process with only `env` set."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_", "LIS_"))
    }
    clean.update({"LIS_DATA_DIR": str(tmp_path), **env})
    return subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS],
        cwd=REPO,
        env=clean,
        capture_output=True,
        text=True,
        check=False,
    )


def https_settings(tmp_path: Path, **env: str) -> list:
    result = start(tmp_path, **env)
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout))


# -- from the environment -------------------------------------------------------


def test_production_redirects_to_https_and_sends_hsts_for_a_year(tmp_path):
    assert https_settings(tmp_path, **PRODUCTION) == [
        True,
        A_YEAR_SECONDS,
        False,
        False,
        None,
        [],
    ]


def test_development_works_over_plain_http(tmp_path):
    redirect, hsts_seconds, *_ = https_settings(tmp_path)

    assert (redirect, hsts_seconds) == (False, 0)


def test_every_https_setting_can_be_set_from_the_environment(tmp_path):
    settings = https_settings(
        tmp_path,
        **PRODUCTION,
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_SECURE_HSTS_SECONDS="300",
        DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS="1",
        DJANGO_SECURE_HSTS_PRELOAD="yes",
        DJANGO_SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO, https",
        DJANGO_CSRF_TRUSTED_ORIGINS="https://portal.lis.example,https://lis.example",
    )

    assert settings == [
        False,
        300,
        True,
        True,
        list(FORWARDED_PROTO),
        ["https://portal.lis.example", "https://lis.example"],
    ]


def test_development_can_try_the_production_behaviour(tmp_path):
    redirect, hsts_seconds, *_ = https_settings(
        tmp_path, DJANGO_SECURE_SSL_REDIRECT="1", DJANGO_SECURE_HSTS_SECONDS="60"
    )

    assert (redirect, hsts_seconds) == (True, 60)


@pytest.mark.parametrize(
    "value", ["X-Forwarded-Proto,https", "HTTP_X_FORWARDED_PROTO", "HTTP_X,https,x"]
)
def test_a_proxy_header_django_could_never_match_stops_the_start(tmp_path, value):
    result = start(tmp_path, **PRODUCTION, DJANGO_SECURE_PROXY_SSL_HEADER=value)

    assert result.returncode != 0
    assert f"DJANGO_SECURE_PROXY_SSL_HEADER={value!r}" in result.stderr
    assert "e.g. HTTP_X_FORWARDED_PROTO,https" in result.stderr


# -- what requests get ----------------------------------------------------------


@pytest.fixture
def production_https(settings: Settings) -> Settings:
    """The production values, behind a proxy that sets X-Forwarded-Proto."""
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = A_YEAR_SECONDS
    settings.SECURE_PROXY_SSL_HEADER = FORWARDED_PROTO
    return settings


def test_plain_http_is_redirected_to_https(client: Client, production_https):
    response = client.get("/core/auth/csrf/?next=x")

    assert response.status_code == 301
    assert response["Location"] == "https://testserver/core/auth/csrf/?next=x"
    assert "Strict-Transport-Security" not in response


@pytest.mark.django_db
def test_https_through_the_proxy_is_served_with_hsts(client: Client, production_https):
    response = client.get("/core/auth/csrf/", HTTP_X_FORWARDED_PROTO="https")

    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == f"max-age={A_YEAR_SECONDS}"


def test_the_client_cannot_claim_https_past_the_proxy(client: Client, production_https):
    # the proxy overwrites the header: what reaches us says "http"
    response = client.get("/core/auth/csrf/", HTTP_X_FORWARDED_PROTO="http")

    assert response.status_code == 301


@pytest.mark.django_db
def test_readiness_is_answered_over_plain_http(client: Client, production_https):
    # given a kubelet probing from inside the cluster, over plain HTTP
    response = client.get("/core/view/ready/")

    # then it gets the checks, not a redirect it would count as "ready"
    assert response.status_code == 200
    assert response.json()["checks"]["database"]["status"] == "ok"


def test_liveness_is_answered_over_plain_http(client: Client, production_https):
    response = client.get("/core/view/live/")

    assert response.status_code == 200


# -- check --deploy: the proxy's header ---------------------------------------


def test_a_redirect_without_the_proxys_header_is_reported(settings: Settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = None

    [warning] = check_https_behind_a_proxy()

    assert isinstance(warning, Warning) and warning.id == "core.W030"
    assert "DJANGO_SECURE_PROXY_SSL_HEADER" in warning.hint


@pytest.mark.parametrize(
    ("redirect", "header"), [(True, FORWARDED_PROTO), (False, None)]
)
def test_with_the_header_or_without_the_redirect_nothing_is_reported(
    settings: Settings, redirect, header
):
    settings.SECURE_SSL_REDIRECT = redirect
    settings.SECURE_PROXY_SSL_HEADER = header

    assert check_https_behind_a_proxy() == []
