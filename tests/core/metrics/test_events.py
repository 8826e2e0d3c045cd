"""Each metric family moves when its event happens, as a scrape of
/core/view/metrics/ reads it: a request, a cache hit, a job attempt run by
the real Fusion worker, a webhook delivery, a PDF render, a throttled
sign-in, an activity-log entry shipped. Counters are this process's
(single-process mode), so each test compares a scrape after the event with
one before."""

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from pytest_django.fixtures import Settings

from core.activity_log.shipping import ship_all
from core.models.webhook import WebhookEndpoint
from core.utils.clients import get_client
from core.utils.fusion.options import FusionStats
from patients.models import Patient
from tests.core.fusion import jobs
from tests.core.metrics.scrape import scrape_text, value
from tests.core.middleware.fixtures import LOGIN_URL, PASSWORD, make_user
from tests.core.webhooks.fixtures import new_patient
from tests.pdf_fixtures import SUMMARY_CONTEXT, post_pdf, signed_in
from tests.standins.elasticsearch import ElasticsearchStandIn
from tests.standins.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.django_db
Labs = dict[str, Any]


def moved(before: str, after: str, name: str, **labels: str) -> float:
    """How much `name` (with `labels`) grew between two scrapes."""
    return value(after, name, **labels) - value(before, name, **labels)


def test_a_request_is_counted_and_timed_by_its_route_name(client: Client) -> None:
    before = scrape_text()

    client.get("/core/view/ready/")
    client.get("/no/such/page/4711/")
    client.generic("BREW", "/core/view/ready/")

    after = scrape_text()
    ready = {"route": "core:health-ready", "method": "GET"}
    assert moved(before, after, "lis_http_requests_total", **ready, status="2xx") == 1
    assert moved(before, after, "lis_http_request_duration_seconds_count", **ready) == 1
    assert moved(before, after, "lis_http_request_duration_seconds_sum", **ready) > 0
    unresolved = {"route": "unresolved", "method": "GET", "status": "4xx"}
    assert moved(before, after, "lis_http_requests_total", **unresolved) == 1
    other = {"route": "core:health-ready", "method": "other", "status": "4xx"}
    assert moved(before, after, "lis_http_requests_total", **other) == 1


def test_cache_hits_and_misses_are_counted(
    labs: Labs, django_capture_on_commit_callbacks: Any
) -> None:
    patient = new_patient(labs["north"])
    before = scrape_text()

    # a miss, filled after commit (the test's transaction never commits)
    with django_capture_on_commit_callbacks(execute=True):
        Patient.get_cached_instance(patient.pk, labs["north"].pk)
    Patient.get_cached_instance(patient.pk, labs["north"].pk)  # hit

    after = scrape_text()
    assert moved(before, after, "lis_cache_lookups_total", result="miss") == 1
    assert moved(before, after, "lis_cache_lookups_total", result="hit") == 1


@pytest.mark.django_db(transaction=True)  # the worker commits
def test_job_attempts_run_by_the_worker_are_counted_by_outcome(
    run_worker: Callable[..., None], job_file: str
) -> None:
    before = scrape_text()

    jobs.record.enqueue(job_file, "once")
    jobs.always_fail.enqueue(job_file)  # 3 attempts: 2 retries, a dead letter
    run_worker(lambda: _queue_is_empty())

    after = scrape_text()
    record = {"job": "tests.core.fusion.jobs.record"}
    failing = {"job": "tests.core.fusion.jobs.always_fail"}
    counted = "lis_fusion_job_attempts_total"
    assert moved(before, after, counted, **record, outcome="succeeded") == 1
    assert moved(before, after, counted, **failing, outcome="retry") == 2
    assert moved(before, after, counted, **failing, outcome="dead_letter") == 1
    assert moved(before, after, "lis_fusion_job_duration_seconds_count", **record) == 1


def _queue_is_empty() -> bool:
    stats: FusionStats = get_client("fusion").stats()
    return stats.ready + stats.running + stats.scheduled == 0


@pytest.mark.django_db(transaction=True)  # the worker commits
def test_webhook_deliveries_are_counted_by_outcome(
    labs: Labs,
    subscribe: Callable[..., WebhookEndpoint],
    receiver: WebhookReceiver,
    deliver: Callable[..., None],
) -> None:
    subscribe(labs["north"])
    before = scrape_text()

    new_patient(labs["north"])
    deliver()

    after = scrape_text()
    assert len(receiver.verified()) == 1
    counted = "lis_webhook_deliveries_total"
    assert moved(before, after, counted, outcome="succeeded") == 1
    assert moved(before, after, "lis_webhook_send_duration_seconds_count") == 1
    job = {"job": "core.webhooks.delivery.deliver_webhook", "outcome": "succeeded"}
    assert moved(before, after, "lis_fusion_job_attempts_total", **job) == 1


def test_a_pdf_render_is_counted_and_timed(labs: Labs, settings: Settings) -> None:
    staff = signed_in("asha", labs["central"])
    before = scrape_text()

    rendered = post_pdf(
        staff, {"report": "patients.summary", "context": SUMMARY_CONTEXT}
    )
    settings.PDF_RENDER_SLOTS_PER_LAB = 0
    busy = post_pdf(staff, {"report": "patients.summary", "context": SUMMARY_CONTEXT})

    after = scrape_text()
    assert (rendered.status_code, busy.status_code) == (200, 429)
    renders = "lis_pdf_renders_total"
    assert moved(before, after, renders, kind="sync", outcome="rendered") == 1
    assert moved(before, after, renders, kind="sync", outcome="busy") == 1
    assert (
        moved(before, after, "lis_pdf_render_duration_seconds_count", kind="sync") == 1
    )


def test_a_throttled_sign_in_is_counted(labs: Labs, settings: Settings) -> None:
    settings.LOGIN_FAILURE_LIMIT_PER_ACCOUNT = 1
    make_user("ravi", labs["north"])
    before = scrape_text()

    statuses = [_sign_in("ravi", "wrong").status_code for _ in range(2)]
    statuses.append(_sign_in("ravi", PASSWORD).status_code)

    after = scrape_text()
    assert statuses == [401, 429, 429]
    throttled = "lis_sign_in_throttled_total"
    assert moved(before, after, throttled, credential="password") == 2


def test_a_throttled_api_key_attempt_is_counted(settings: Settings) -> None:
    settings.LOGIN_FAILURE_LIMIT_PER_IP = 1
    client = Client(headers={"X-API-Key": "lis_not-a-key-of-anyone"})
    before = scrape_text()

    statuses = [client.get("/api/patients/").status_code for _ in range(2)]

    after = scrape_text()
    assert statuses == [401, 429]
    throttled = "lis_sign_in_throttled_total"
    assert moved(before, after, throttled, credential="api_key") == 1


def _sign_in(username: str, password: str) -> Any:
    body = json.dumps({"username": username, "password": password})
    return Client().post(LOGIN_URL, body, content_type="application/json")


def test_shipped_log_entries_are_counted(
    labs: Labs, elasticsearch: ElasticsearchStandIn
) -> None:
    before = scrape_text()

    shipped = ship_all().shipped

    after = scrape_text()
    assert shipped > 0
    counted = "lis_activity_log_shipped_entries_total"
    assert moved(before, after, counted, result="shipped") == shipped
