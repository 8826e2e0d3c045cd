"""GET /core/view/metrics/: readiness's access rule, Prometheus's format (read
by prometheus_client's parser), and the backlog gauges computed at scrape
time from the database."""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from prometheus_client.parser import text_string_to_metric_families
from pytest_django.fixtures import Settings

from core.activity_log.models import ActivityLog, ActivityLogShipQuarantine
from core.models.webhook import WebhookEndpoint
from tests.core.fusion import jobs
from tests.core.metrics.scrape import METRICS, scrape_text, scrape_value, value
from tests.core.webhooks.fixtures import new_patient

#: Not in the default HEALTH_CHECK_ALLOWED_IPS (loopback only).
OUTSIDER = "203.0.113.7"
TOKEN = "metrics-token-0123456789abcdef"


@pytest.fixture(autouse=True)
def health_token(settings: Settings) -> None:
    settings.HEALTH_CHECK_TOKEN = TOKEN


# -- who may read ----------------------------------------------------------------


def test_the_route_is_named() -> None:
    assert reverse("core:health-metrics") == METRICS


@pytest.mark.django_db
def test_an_allowed_address_reads_the_exposition(client: Client) -> None:
    response = client.get(METRICS)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    assert "no-store" in response["Cache-Control"]
    names = {f.name for f in text_string_to_metric_families(response.content.decode())}
    assert {"lis_http_requests", "lis_cache_lookups", "lis_fusion_jobs"} <= names


@pytest.mark.django_db
def test_the_health_token_reads_it_from_anywhere(client: Client) -> None:
    response = client.get(
        METRICS, REMOTE_ADDR=OUTSIDER, HTTP_AUTHORIZATION=f"Bearer {TOKEN}"
    )

    assert response.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "authorization", ["", "Bearer wrong-token", f"Basic {TOKEN}"], ids=str
)
def test_anyone_else_gets_403_and_no_metric(client: Client, authorization: str) -> None:
    extra = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    response = client.get(METRICS, REMOTE_ADDR=OUTSIDER, **extra)

    assert response.status_code == 403
    assert b"lis_" not in response.content
    assert "health check token" in response.json()["error"]


@pytest.mark.django_db
def test_it_is_readable_only(client: Client) -> None:
    assert client.post(METRICS).status_code == 405


@pytest.mark.django_db
def test_openmetrics_is_served_when_asked(client: Client) -> None:
    response = client.get(
        METRICS, HTTP_ACCEPT="application/openmetrics-text; version=1.0.0"
    )

    assert response["Content-Type"].startswith("application/openmetrics-text")
    assert response.content.rstrip().endswith(b"# EOF")


# -- backlog gauges ----------------------------------------------------------------


@pytest.mark.django_db
def test_the_job_backlog_is_counted_at_scrape_time(
    database_engine: Any, job_file: str
) -> None:
    before = scrape_value("lis_fusion_jobs", state="ready")

    jobs.record.enqueue(job_file, "one")
    jobs.record.enqueue(job_file, "two")

    text = scrape_text()
    assert value(text, "lis_fusion_jobs", state="ready") == before + 2
    assert value(text, "lis_fusion_oldest_ready_age_seconds") > 0
    assert value(text, "lis_scrape_source_up", source="fusion") == 1


@pytest.mark.django_db
def test_log_shipping_lag_seal_backlog_and_quarantine_are_counted(
    labs: dict[str, Any],
) -> None:
    # Given the labs' entries (their creation) and no shipping
    text = scrape_text()
    waiting = ActivityLog.objects.filter(sealed=False).count()
    assert waiting > 0
    assert value(text, "lis_activity_log_unsealed_entries") == waiting
    assert value(text, "lis_activity_log_shipping_lag_seconds") > 0
    assert value(text, "lis_activity_log_quarantined_entries") == 0

    # When a patient is saved and Elasticsearch refused an entry for good
    new_patient(labs["north"])
    entry = ActivityLog.objects.order_by("id").first()
    assert entry is not None
    ActivityLogShipQuarantine.objects.create(
        entry_id=entry.id, status=400, error_type="mapper_parsing_exception", reason=""
    )

    # Then the scrape says so
    text = scrape_text()
    assert value(text, "lis_activity_log_unsealed_entries") == waiting + 1
    assert value(text, "lis_activity_log_quarantined_entries") == 1


@pytest.mark.django_db
def test_nothing_waiting_is_a_lag_of_zero() -> None:
    assert ActivityLog.objects.filter(shipped=False).count() == 0

    assert scrape_value("lis_activity_log_shipping_lag_seconds") == 0


@pytest.mark.django_db
def test_disabled_webhook_endpoints_are_counted(
    labs: dict[str, Any], subscribe: Callable[..., WebhookEndpoint]
) -> None:
    endpoint = subscribe(labs["north"])
    subscribe(labs["south"])
    assert scrape_value("lis_webhook_endpoints_disabled") == 0

    endpoint.disable("Receiver gone")

    assert scrape_value("lis_webhook_endpoints_disabled") == 1


@pytest.mark.django_db
def test_a_failing_source_is_left_out_and_said_down(settings: Settings) -> None:
    # Given Fusion on a task backend without a queue to inspect
    settings.TASKS = {
        "default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}
    }

    text = scrape_text()

    assert value(text, "lis_scrape_source_up", source="fusion") == 0
    assert value(text, "lis_scrape_source_up", source="activity_log") == 1
    assert "lis_fusion_jobs" not in text


def test_with_the_database_down_the_counters_are_still_served(
    client: Client, database_unreachable: None
) -> None:
    # Asked from another thread, as a server's thread would: its own
    # connection, to the unreachable database (this thread's is open).
    with ThreadPoolExecutor(1) as pool:
        response = pool.submit(client.get, METRICS).result()

    assert response.status_code == 200
    text = response.content.decode()
    for source in ("fusion", "activity_log", "webhooks"):
        assert value(text, "lis_scrape_source_up", source=source) == 0
    assert "lis_http_requests_total" in text
