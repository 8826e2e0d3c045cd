"""SlackClient against a Slack stand-in (tests/standins/slack.py) that checks
each request: chat.postMessage, rate-limit retries, errors, outages,
incoming webhooks and health checks; and the log backend."""

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.settings.services import build_services
from core.utils.clients import get_client
from core.utils.slack.client import LogSlackClient, SlackClient
from core.utils.slack.exceptions import (
    SlackRateLimited,
    SlackRejected,
    SlackUnavailable,
)
from tests.standins.slack import SlackStandIn

pytestmark = pytest.mark.engine_independent

BLOCKS = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "*Analyser 3* is offline"}}
]


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as standin:
        yield standin


def web_client(slack: SlackStandIn, **options: Any) -> SlackClient:
    return SlackClient(token=slack.token, base_url=slack.base_url, **options)


def test_a_message_is_posted_with_the_token_and_body_slack_expects(slack):
    result = web_client(slack).post_message(
        "#lab-alerts", "Analyser 3 is offline", BLOCKS
    )

    assert result["ok"] and result["channel"] == "C0STANDIN" and result["ts"]
    assert slack.problems == []
    [request] = slack.requests
    assert request.path == "/api/chat.postMessage"
    assert request.headers["authorization"] == f"Bearer {slack.token}"
    assert request.fields == {
        "channel": "#lab-alerts",
        "text": "Analyser 3 is offline",
        "blocks": BLOCKS,
    }


def test_a_rate_limited_call_is_retried_after_retry_after(slack):
    # given Slack answers the first call with 429 and "Retry-After: 0"
    slack.answer_next(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "0"})

    # when a message is posted
    result = web_client(slack).post_message("#lab-alerts", "hello")

    # then the client waited and tried again, and the second call went through
    assert result["ok"]
    assert len(slack.requests) == 2
    assert slack.requests[0].fields == slack.requests[1].fields


def test_a_long_retry_after_is_left_to_the_job_queue(slack):
    # given Slack asks for a two-minute pause
    slack.answer_next(
        429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "120"}
    )

    # then the caller is told at once, with the wait, instead of sleeping
    with pytest.raises(SlackRateLimited) as excinfo:
        web_client(slack).post_message("#lab-alerts", "hello")

    assert excinfo.value.retry_after_seconds == 120
    assert excinfo.value.retryable
    assert len(slack.requests) == 1


def test_rate_limit_retries_are_bounded(slack):
    for _ in range(3):
        slack.answer_next(
            429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "0"}
        )

    with pytest.raises(SlackRateLimited):
        web_client(slack, max_rate_limit_retries=1).post_message("#a", "hello")

    assert len(slack.requests) == 2


def test_a_server_error_is_retryable_and_names_the_status(slack):
    slack.answer_next(500, "Internal Server Error")

    with pytest.raises(SlackUnavailable, match="HTTP 500") as excinfo:
        web_client(slack).post_message("#lab-alerts", "hello")

    assert excinfo.value.retryable


def test_a_refusal_carries_slacks_error_code_and_is_final(slack):
    slack.answer_next(200, {"ok": False, "error": "channel_not_found"})

    with pytest.raises(SlackRejected, match="channel_not_found") as excinfo:
        web_client(slack).post_message("#no-such-channel", "hello")

    assert excinfo.value.code == "channel_not_found"
    assert not excinfo.value.retryable


def test_a_wrong_token_is_refused_and_never_shown(slack):
    client = SlackClient(token="xoxb-wrong-secret", base_url=slack.base_url)

    with pytest.raises(SlackRejected) as excinfo:
        client.post_message("#lab-alerts", "hello")

    assert excinfo.value.code == "invalid_auth"
    assert "xoxb-wrong-secret" not in str(excinfo.value)
    assert slack.problems == ["missing or wrong bearer token"]


def test_slack_down_gives_a_retryable_error(slack):
    client = web_client(slack)
    slack.stop()

    with pytest.raises(SlackUnavailable, match="could not be reached") as excinfo:
        client.post_message("#lab-alerts", "hello")

    assert excinfo.value.retryable


def test_a_slow_slack_times_out(slack):
    slack.answer_next(200, {"ok": True}, delay_seconds=5)

    with pytest.raises(SlackUnavailable, match="TimeoutError"):
        web_client(slack, timeout_seconds=0.3).post_message("#lab-alerts", "hello")


@pytest.mark.parametrize(("channel", "text"), [("", "hello"), ("#a", ""), (" ", "x")])
def test_a_message_without_channel_or_text_is_refused_before_sending(
    slack, channel, text
):
    with pytest.raises(ValueError, match="needs"):
        web_client(slack).post_message(channel, text)

    assert slack.requests == []


def test_a_client_needs_a_token_or_a_webhook():
    with pytest.raises(ImproperlyConfigured, match="SLACK_BOT_TOKEN"):
        SlackClient()


# -- incoming webhooks -----------------------------------------------------------
def test_a_webhook_posts_json_without_a_token(slack):
    result = SlackClient(webhook_url=slack.webhook_url).post_message(
        "#ignored-by-slack", "Analyser 3 is offline", BLOCKS
    )

    assert result == {"ok": True}
    assert slack.problems == []
    [request] = slack.requests
    assert request.path == slack.webhook_path
    assert "authorization" not in request.headers
    assert request.fields == {"text": "Analyser 3 is offline", "blocks": BLOCKS}


def test_a_removed_webhook_is_a_final_refusal(slack):
    removed = slack.webhook_url.replace("standin-webhook-secret", "removed-hook")

    with pytest.raises(SlackRejected, match="no_service") as excinfo:
        SlackClient(webhook_url=removed).post_message("#a", "hello")

    assert not excinfo.value.retryable
    assert "removed-hook" not in str(excinfo.value)


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [(429, {"Retry-After": "90"}, SlackRateLimited), (503, {}, SlackUnavailable)],
)
def test_webhook_failures_are_retryable(slack, status, headers, expected):
    slack.answer_next(status, "busy", headers)

    with pytest.raises(expected) as excinfo:
        SlackClient(webhook_url=slack.webhook_url).post_message("#a", "hello")

    assert excinfo.value.retryable


def test_the_webhook_url_never_reaches_the_logs(slack, caplog):
    # given every logger at DEBUG and a webhook whose server is gone
    caplog.set_level(logging.DEBUG)
    client = SlackClient(webhook_url=slack.webhook_url)
    slack.stop()

    with pytest.raises(SlackUnavailable) as excinfo:
        client.post_message("#a", "hello")

    # then neither the logs nor the error show the URL's secret path
    assert "standin-webhook-secret" not in caplog.text
    assert "standin-webhook-secret" not in str(excinfo.value)


# -- health ------------------------------------------------------------------------
def test_check_is_ok_against_the_live_peer(slack):
    status = web_client(slack).check(timeout=1)

    assert status.ok, status.detail
    assert slack.requests[0].path == "/api/auth.test"


def test_check_is_not_ok_with_a_wrong_token_or_when_slack_is_down(slack):
    assert not SlackClient(token="xoxb-wrong", base_url=slack.base_url).check(1).ok

    client = web_client(slack)
    slack.stop()
    status = client.check(timeout=1)
    assert not status.ok
    assert status.detail == "URLError"


def test_check_of_a_webhook_posts_nothing_and_spots_a_removed_hook(slack):
    # an empty payload, which Slack refuses without posting, proves the hook exists
    assert SlackClient(webhook_url=slack.webhook_url).check(timeout=1).ok
    assert slack.problems == ["webhook body is not a JSON object"]

    removed = slack.webhook_url.replace("standin-webhook-secret", "removed-hook")
    assert not SlackClient(webhook_url=removed).check(timeout=1).ok


# -- the log backend and settings ----------------------------------------------------
def test_the_log_backend_logs_the_channel_and_text(caplog):
    caplog.set_level(logging.INFO, logger="core.utils.slack.client")

    result = LogSlackClient().post_message("#lab-alerts", "Analyser 3 is offline")

    assert result == {"ok": True, "channel": "#lab-alerts", "logged": True}
    [record] = caplog.records
    assert record.levelno == logging.INFO
    assert "#lab-alerts" in record.getMessage()
    assert "Analyser 3 is offline" in record.getMessage()
    assert LogSlackClient().check().ok
    with pytest.raises(ValueError, match="channel"):
        LogSlackClient().post_message("", "hello")


def test_settings_choose_the_log_backend_unless_slack_is_configured(
    monkeypatch, tmp_path, settings, slack
):
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    assert build_services(tmp_path)["slack"]["BACKEND"].endswith(".LogSlackClient")

    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.token)
    monkeypatch.setenv("SLACK_API_URL", slack.base_url)
    settings.SERVICES = {
        **settings.SERVICES,
        "slack": build_services(tmp_path)["slack"],
    }

    get_client("slack").post_message("#lab-alerts", "configured from the environment")
    assert slack.requests[0].fields["text"] == "configured from the environment"
    assert slack.problems == []
