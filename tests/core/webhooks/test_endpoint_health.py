"""An endpoint's failure streak: counted, reset by a success, and the
endpoint disabled (logged, Slack told) at the limit or on 410 Gone."""

import pytest
from django_tasks_db.models import DBTaskResult

from core.models import ActivityLog
from core.models.webhook import WebhookEndpoint
from core.webhooks import endpoint_health

pytestmark = pytest.mark.django_db

URL = "https://93.184.215.14/hooks"


@pytest.fixture
def endpoint(labs, webhook_settings, database_engine) -> WebhookEndpoint:
    webhook_settings.WEBHOOK_DISABLE_AFTER_FAILURES = 3
    webhook_settings.WEBHOOK_ALERT_SLACK_CHANNEL = "#lab-alerts"
    endpoint, _ = WebhookEndpoint.create(labs["north"], URL, ["*"])
    return endpoint


def fresh(endpoint: WebhookEndpoint) -> WebhookEndpoint:
    return WebhookEndpoint.objects.get(pk=endpoint.pk)


def slack_jobs() -> list[DBTaskResult]:
    return list(DBTaskResult.objects.filter(task_path__endswith="post_slack_message"))


def test_failures_below_the_limit_are_only_counted(endpoint):
    assert not endpoint_health.record_failure(endpoint.pk, "HTTP 500")
    assert not endpoint_health.record_failure(endpoint.pk, "HTTP 500")

    assert fresh(endpoint).consecutive_failures == 2
    assert fresh(endpoint).version == endpoint.version  # bookkeeping, not an edit
    assert slack_jobs() == []


def test_the_limit_disables_and_tells_the_lab_on_slack(endpoint):
    for _ in range(2):
        endpoint_health.record_failure(endpoint.pk, "HTTP 500")

    assert endpoint_health.record_failure(endpoint.pk, "HTTP 503")

    disabled = fresh(endpoint)
    assert not disabled.is_active
    assert disabled.disabled_reason == (
        "Disabled after 3 failed deliveries in a row; last: HTTP 503."
    )
    [job] = slack_jobs()
    channel, text, _blocks = job.args_kwargs["args"]
    assert channel == "#lab-alerts"
    assert text.startswith(f"Webhook endpoint {endpoint.pk} of lab ")
    assert "https://93.184.215.14/…" in text and "/hooks" not in text


def test_a_disabled_endpoint_is_not_disabled_again(endpoint):
    endpoint.disable("By hand")
    entries = ActivityLog.objects.count()

    assert not endpoint_health.record_failure(endpoint.pk, "HTTP 500", gone=True)

    assert ActivityLog.objects.count() == entries
    assert fresh(endpoint).disabled_reason == "By hand"


def test_a_deleted_endpoint_is_left_alone(endpoint):
    endpoint.delete()

    assert not endpoint_health.record_failure(endpoint.pk, "HTTP 500")


def test_without_a_slack_channel_only_the_activity_log_tells(
    endpoint, webhook_settings
):
    webhook_settings.WEBHOOK_ALERT_SLACK_CHANNEL = ""

    assert endpoint_health.record_failure(endpoint.pk, "HTTP 410", gone=True)

    assert slack_jobs() == []
    entry = ActivityLog.objects.filter(model_label="core.webhookendpoint").latest("id")
    assert entry.reason.startswith("Disabled: the receiver answered 410 Gone")


def test_a_success_resets_the_streak(endpoint):
    endpoint_health.record_failure(endpoint.pk, "HTTP 500")

    endpoint_health.record_success(fresh(endpoint))

    assert fresh(endpoint).consecutive_failures == 0
