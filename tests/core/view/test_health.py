"""The health check views (core/view.py) through Django's test client:
liveness (touches nothing), readiness (bounded while Elasticsearch hangs or
Redis is dead; 503 only when a critical check is down), and who may read
readiness. The fixtures are in tests/health_fixtures.py."""

import ipaddress
import time
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries
from pytest_django.fixtures import Settings

from core.view import allowed_networks
from tests.health_fixtures import ES_PASSWORD
from tests.redis_servers import RedisServer
from tests.standins.elasticsearch import ElasticsearchStandIn

LIVE = "/core/view/live/"
READY = "/core/view/ready/"
#: Not in the default HEALTH_CHECK_ALLOWED_IPS (loopback only).
OUTSIDER = "203.0.113.7"
TOKEN = "health-token-0123456789abcdef"
#: Generous bound proving "did not hang": a hung request is held 10 s.
NOT_HUNG_SECONDS = 5.0


@pytest.fixture(autouse=True)
def quick_checks(settings: Settings) -> None:
    settings.HEALTH_CHECK_TIMEOUT_SECONDS = 0.5
    settings.HEALTH_CHECK_DEADLINE_SECONDS = 2
    settings.HEALTH_CHECK_TOKEN = TOKEN


def timed_get(client: Client, path: str, **extra: Any) -> tuple[Any, float]:
    started = time.monotonic()
    response = client.get(path, **extra)
    return response, time.monotonic() - started


# -- liveness --------------------------------------------------------------------


def test_the_routes_are_named() -> None:
    assert reverse("core:health-live") == LIVE
    assert reverse("core:health-ready") == READY


@pytest.mark.django_db
def test_liveness_answers_anyone_without_touching_the_database(
    client: Client, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    with django_assert_num_queries(0):
        response = client.get(LIVE, REMOTE_ADDR=OUTSIDER)

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-store" in response["Cache-Control"]


def test_liveness_answers_while_the_database_is_unreachable(
    client: Client, database_unreachable: None
) -> None:
    assert client.get(LIVE).status_code == 200


def test_liveness_only_answers_reads(client: Client) -> None:
    assert client.post(LIVE).status_code == 405


@pytest.mark.django_db
def test_liveness_is_answered_ahead_of_host_checks_redirects_and_sessions(
    client: Client,
    settings: Settings,
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    # An orchestrator probes by the pod's address, over plain HTTP, with
    # whatever cookie it kept; production settings redirect to HTTPS.
    settings.SECURE_SSL_REDIRECT = True
    client.cookies["sessionid"] = "a-session-that-does-not-exist"
    probe = {"HTTP_HOST": "10.1.2.3:8000", "REMOTE_ADDR": "10.1.2.1"}

    with django_assert_num_queries(0):
        live = client.get(LIVE, **probe)
    ready = client.get(READY, **probe)

    assert live.status_code == 200 and live.json() == {"status": "ok"}
    assert "Set-Cookie" not in live.headers and not live.cookies
    # every other path still goes through the whole stack: the host check
    # refuses this one
    assert ready.status_code == 400


# -- readiness -------------------------------------------------------------------


@pytest.mark.django_db
def test_readiness_reports_each_check_as_json(client: Client) -> None:
    response = client.get(READY)

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert (body["failures"], body["warnings"]) == ([], [])
    assert body["duration_ms"] >= 0
    assert {"database", "cache", "es", "fusion", "job_backlog"} <= set(body["checks"])
    assert body["checks"]["database"] == {
        "status": "ok",
        "critical": True,
        "latency_ms": body["checks"]["database"]["latency_ms"],
        "detail": "default",
    }
    assert "no-store" in response["Cache-Control"]


def test_with_the_database_unreachable_readiness_is_503(
    client: Client, database_unreachable: None
) -> None:
    response = client.get(READY)

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["failures"] == ["database"]
    assert body["checks"]["database"]["status"] == "down"


@pytest.mark.django_db
def test_a_hung_elasticsearch_does_not_hang_readiness(
    client: Client, elasticsearch: ElasticsearchStandIn
) -> None:
    # Given Elasticsearch holds the next request without answering
    elasticsearch.hang_next()

    # When readiness is asked
    response, elapsed = timed_get(client, READY)

    # Then it answers within its bound: es down, a warning, not a failure
    assert elapsed < NOT_HUNG_SECONDS
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["warnings"] == ["es"]
    assert body["checks"]["es"]["status"] == "down"
    assert elasticsearch.paths() == ["/_cluster/health"]
    assert ES_PASSWORD not in response.content.decode()


@pytest.mark.django_db
def test_a_hung_elasticsearch_fails_readiness_when_it_is_critical(
    client: Client, settings: Settings, elasticsearch: ElasticsearchStandIn
) -> None:
    settings.HEALTH_CHECK_CRITICAL = ["database", "es"]
    elasticsearch.hang_next()

    response, elapsed = timed_get(client, READY)

    assert elapsed < NOT_HUNG_SECONDS
    assert response.status_code == 503
    assert response.json()["failures"] == ["es"]


@pytest.mark.django_db
def test_a_stopped_elasticsearch_is_down_and_a_warning(
    client: Client, elasticsearch: ElasticsearchStandIn
) -> None:
    elasticsearch.stop()

    response, elapsed = timed_get(client, READY)

    assert elapsed < NOT_HUNG_SECONDS
    assert response.status_code == 200
    assert response.json()["checks"]["es"]["status"] == "down"
    assert response.json()["warnings"] == ["es"]


@pytest.mark.django_db
def test_elasticsearch_credentials_never_reach_the_response(
    client: Client, elasticsearch: ElasticsearchStandIn
) -> None:
    response = client.get(READY)

    assert response.json()["checks"]["es"] == {
        "status": "ok",
        "critical": False,
        "latency_ms": response.json()["checks"]["es"]["latency_ms"],
        "detail": "cluster green",
    }
    assert ES_PASSWORD not in response.content.decode()


@pytest.mark.django_db
def test_a_killed_redis_degrades_readiness_within_its_bound(
    client: Client, faulty_cache: RedisServer
) -> None:
    assert client.get(READY).json()["checks"]["cache"]["status"] == "ok"
    faulty_cache.stop()

    response, elapsed = timed_get(client, READY)

    assert elapsed < NOT_HUNG_SECONDS
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["warnings"]) == ("degraded", ["cache"])
    assert body["checks"]["cache"]["status"] == "down"


@pytest.mark.django_db
def test_a_frozen_redis_degrades_readiness_within_its_bound(
    client: Client, faulty_cache: RedisServer
) -> None:
    faulty_cache.pause()

    response, elapsed = timed_get(client, READY)

    faulty_cache.resume()
    assert elapsed < NOT_HUNG_SECONDS
    assert response.status_code == 200
    assert response.json()["checks"]["cache"]["status"] == "down"


# -- who may read readiness -------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer wrong-token",
        f"Bearer {TOKEN}x",
        f"Bearer {TOKEN[:-1]}",
        f"Basic {TOKEN}",
        f"Token {TOKEN}",
        f"Bearer{TOKEN}",
        "Bearer ",
        "Bearer",
        "Bearer tökén",
    ],
)
def test_from_elsewhere_without_the_token_readiness_is_refused(
    client: Client, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}

    response = client.get(READY, REMOTE_ADDR=OUTSIDER, headers=headers)

    assert response.status_code == 403
    assert set(response.json()) == {"error", "request_id"}
    assert "allowed address" in response.json()["error"]


@pytest.mark.django_db
@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_from_elsewhere_the_token_opens_readiness(client: Client, scheme: str) -> None:
    response = client.get(
        READY, REMOTE_ADDR=OUTSIDER, headers={"Authorization": f"{scheme} {TOKEN} "}
    )

    assert response.status_code == 200
    assert "database" in response.json()["checks"]


@pytest.mark.django_db
def test_without_a_configured_token_no_token_opens_readiness(
    client: Client, settings: Settings
) -> None:
    settings.HEALTH_CHECK_TOKEN = ""

    response = client.get(
        READY, REMOTE_ADDR=OUTSIDER, headers={"Authorization": "Bearer "}
    )

    assert response.status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("allowed", "address", "status"),
    [
        (["127.0.0.1", "::1"], "127.0.0.1", 200),
        (["127.0.0.1", "::1"], "::1", 200),
        (["127.0.0.1", "::1"], "::ffff:127.0.0.1", 200),
        (["127.0.0.1", "::1"], "127.0.0.2", 403),
        (["10.0.0.0/8"], "10.20.30.40", 200),
        (["10.0.0.0/8"], "11.0.0.1", 403),
        ([" 2001:db8::/32 "], "2001:db8::5", 200),
        ([], "127.0.0.1", 403),
    ],
)
def test_readiness_is_open_to_the_allowed_addresses(
    client: Client, settings: Settings, allowed: list[str], address: str, status: int
) -> None:
    settings.HEALTH_CHECK_ALLOWED_IPS = allowed

    assert client.get(READY, REMOTE_ADDR=address).status_code == status


@pytest.mark.django_db
def test_a_forwarded_address_counts_only_behind_a_trusted_proxy(
    client: Client, settings: Settings
) -> None:
    # Given a request relayed from 127.0.0.1 for an outsider
    forwarded: dict[str, Any] = {
        "REMOTE_ADDR": OUTSIDER,
        "HTTP_X_FORWARDED_FOR": "127.0.0.1",
    }

    # When no proxy is trusted, the header is anyone's to write: ignored
    settings.TRUSTED_PROXY_IP_HEADER = ""
    untrusted = client.get(READY, **forwarded)
    # When the proxy that writes it is trusted, its address counts
    settings.TRUSTED_PROXY_IP_HEADER = "HTTP_X_FORWARDED_FOR"
    trusted = client.get(READY, **forwarded)
    garbage = client.get(READY, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="unknown")

    assert (untrusted.status_code, trusted.status_code) == (403, 200)
    assert garbage.status_code == 403


def test_a_malformed_allowed_address_is_a_configuration_error(
    settings: Settings,
) -> None:
    settings.HEALTH_CHECK_ALLOWED_IPS = ["127.0.0.1", "10.0.0.300"]

    with pytest.raises(ImproperlyConfigured) as excinfo:
        allowed_networks()

    assert "HEALTH_CHECK_ALLOWED_IPS has '10.0.0.300'" in str(excinfo.value)


def test_allowed_addresses_are_networks(settings: Settings) -> None:
    settings.HEALTH_CHECK_ALLOWED_IPS = ["127.0.0.1", "10.0.0.0/8", "10.1.2.3/8"]

    assert allowed_networks() == [
        ipaddress.ip_network("127.0.0.1/32"),
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("10.0.0.0/8"),
    ]
