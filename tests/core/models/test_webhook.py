"""WebhookEndpoint: a lab's subscription, its URL and event types checked
when saved, its secret stored encrypted, shown once and rotated with an
overlap, and its activity log free of secrets."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from core.models import ActivityLog
from core.models.webhook import WebhookEndpoint
from core.utils.webhooks.signing import secret_key

pytestmark = pytest.mark.django_db

URL = "https://93.184.215.14/lis/hooks"


def raw_column(endpoint: WebhookEndpoint, column: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {column} FROM core_webhookendpoint WHERE id = %s",  # noqa: S608
            [endpoint.pk],
        )
        return cursor.fetchone()[0]


def test_create_returns_the_secret_once_and_stores_it_encrypted(labs):
    endpoint, secret = WebhookEndpoint.create(
        labs["north"], URL, ["patient.updated", "patient.created"], "HIS bridge"
    )

    assert secret.startswith("whsec_") and len(secret_key(secret)) == 32
    stored = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert stored.secret == secret
    assert secret not in raw_column(endpoint, "secret")
    assert stored.events == ["patient.created", "patient.updated"]
    assert stored.is_active and stored.consecutive_failures == 0


def test_the_activity_log_never_holds_a_secret(labs):
    endpoint, secret = WebhookEndpoint.create(labs["north"], URL, ["*"])
    rotated = endpoint.rotate_secret(reason="Leaked in a ticket")

    entries = ActivityLog.objects.filter(model_label="core.webhookendpoint")
    created, rotation = entries.order_by("id")
    assert rotation.reason == "Leaked in a ticket"
    assert rotation.changes["secret"] == {"old": "***", "new": "***"}
    for entry in (created, rotation):
        text = str(entry.changes)
        assert secret not in text and rotated not in text


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://127.0.0.1:8000/hooks", "127.0.0.1, a loopback address (RFC 1122)"),
        ("http://169.254.169.254/latest/", "a cloud metadata address"),
        ("https://user:pw@lab.example/hooks", "Remove the user name and password"),
        ("ftp://lab.example/hooks", "http:// or https:// only"),
        ("https://no-such-receiver.invalid/hooks", "does not resolve"),
    ],
)
def test_an_unsafe_or_unknown_url_is_refused_with_the_reason(labs, url, problem):
    with pytest.raises(ValidationError) as refused:
        WebhookEndpoint.create(labs["north"], url, ["*"])

    assert problem in " ".join(refused.value.message_dict["url"])
    assert not WebhookEndpoint.objects.exists()


def test_loopback_is_accepted_when_the_setting_allows_it(labs, webhook_settings):
    endpoint, _ = WebhookEndpoint.create(labs["north"], "http://localhost:9/h", ["*"])

    assert endpoint.pk is not None


def test_the_url_is_checked_again_only_when_it_changes(labs, webhook_settings):
    endpoint, _ = WebhookEndpoint.create(labs["north"], "http://127.0.0.1:9/h", ["*"])
    webhook_settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False

    endpoint.description = "Renamed"
    endpoint.save()  # the URL did not change: no lookup, no refusal
    endpoint.url = "http://127.0.0.1:9/other"

    with pytest.raises(ValidationError) as refused:
        endpoint.save()
    assert "a loopback address" in refused.value.message_dict["url"][0]


@pytest.mark.parametrize(
    ("events", "problem"),
    [
        ([], "List the event types to receive"),
        (["patient.create"], "Unknown event type(s): patient.create."),
    ],
)
def test_event_types_are_checked(labs, events, problem):
    with pytest.raises(ValidationError) as refused:
        WebhookEndpoint.create(labs["north"], URL, events)

    assert problem in refused.value.message_dict["events"][0]


def test_a_malformed_secret_is_refused(labs):
    endpoint = WebhookEndpoint(lab=labs["north"], url=URL, events=["*"], secret="abc")

    with pytest.raises(ValidationError) as refused:
        endpoint.save()

    assert "starts with 'whsec_'" in refused.value.message_dict["secret"][0]


def test_rotation_signs_with_both_secrets_until_the_overlap_ends(
    labs, webhook_settings
):
    webhook_settings.WEBHOOK_SECRET_OVERLAP_HOURS = 2
    endpoint, old = WebhookEndpoint.create(labs["north"], URL, ["*"])

    new = endpoint.rotate_secret()

    endpoint = WebhookEndpoint.objects.get(pk=endpoint.pk)
    now = timezone.now()
    assert endpoint.signing_secrets(now) == [new, old]
    assert endpoint.signing_secrets(now + dt.timedelta(hours=2, seconds=1)) == [new]
    expected_end = now + dt.timedelta(hours=2)
    assert abs((endpoint.previous_secret_expires_at - expected_end).total_seconds()) < 5


def test_a_second_rotation_drops_the_first_secret_at_once(labs):
    endpoint, first = WebhookEndpoint.create(labs["north"], URL, ["*"])
    second = endpoint.rotate_secret()

    third = endpoint.rotate_secret()

    assert endpoint.signing_secrets() == [third, second]
    assert first not in endpoint.signing_secrets()


def test_disable_and_enable_are_logged_and_reset_the_failure_count(labs):
    endpoint, _ = WebhookEndpoint.create(labs["north"], URL, ["*"])
    endpoint.consecutive_failures = 4
    endpoint.save()

    assert endpoint.disable("Receiver retired")
    assert not endpoint.disable("again")  # already disabled: nothing written
    assert (endpoint.is_active, endpoint.disabled_reason) == (False, "Receiver retired")
    assert endpoint.enable()
    assert not endpoint.enable()

    endpoint = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert endpoint.is_active and endpoint.disabled_reason == ""
    assert endpoint.disabled_at is None and endpoint.consecutive_failures == 0
    reasons = ActivityLog.objects.filter(
        model_label="core.webhookendpoint", action="update"
    ).values_list("reason", flat=True)
    assert list(reasons.order_by("id"))[-2:] == [
        "Receiver retired",
        "Webhook endpoint enabled",
    ]


def test_switching_it_back_on_by_hand_clears_the_disabled_state(labs):
    endpoint, _ = WebhookEndpoint.create(labs["north"], URL, ["*"])
    endpoint.disable("Too many failures")
    endpoint = WebhookEndpoint.objects.get(pk=endpoint.pk)

    endpoint.is_active = True
    endpoint.save()

    endpoint = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert (endpoint.disabled_reason, endpoint.disabled_at) == ("", None)


def test_what_it_shows_leaves_out_the_urls_path(labs):
    endpoint, _ = WebhookEndpoint.create(labs["north"], URL + "?token=abc", ["*"])

    assert str(endpoint) == f"https://93.184.215.14/… (lab {labs['north'].pk})"
    assert endpoint.wants("patient.created")
