"""The webhook commands: create and rotate print the secret once; list
deliveries; replay one, several or every failed one, with the same event id."""

import io
from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from admin.account.models import Lab
from core.models import ActivityLog
from core.models.webhook import WebhookDelivery, WebhookEndpoint
from tests.core.webhooks.fixtures import new_patient
from tests.standins.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.django_db(transaction=True)

Status = WebhookDelivery.Status


def run(command: str, *args: str) -> str:
    out = io.StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def test_create_prints_the_secret_once_and_it_signs_deliveries(
    labs, receiver, webhook_settings, deliver
):
    out = run(
        "create_webhook_endpoint",
        "--lab", str(labs["north"].pk),
        "--url", receiver.url,
        "--events", "patient.created, patient.updated",
        "--description", "HIS bridge",
    )  # fmt: skip

    notice, secret = out.splitlines()
    endpoint = WebhookEndpoint.objects.get()
    assert notice == (
        f"Webhook endpoint {endpoint.pk} for lab {labs['north'].pk} (North), "
        f"http://127.0.0.1:{receiver.port}/…, events patient.created, "
        "patient.updated. Copy its signing secret now; it will not be shown again:"
    )
    receiver.secrets.append(secret)
    new_patient(labs["north"])
    deliver()
    assert len(receiver.verified()) == 1
    entry = ActivityLog.objects.get(model_label="core.webhookendpoint")
    assert entry.actor_id == "command:create_webhook_endpoint"


@pytest.mark.parametrize(
    ("lab", "url", "events", "error"),
    [
        ("999999", "https://93.184.215.14/h", "*", "There is no lab 999999"),
        ("north", "http://10.0.0.1/h", "*", "url: Webhooks cannot be sent to 10.0.0.1"),
        ("north", "https://93.184.215.14/h", "patient.born", "events: Unknown event"),
    ],
)
def test_create_refuses_what_cannot_work(labs, lab, url, events, error):
    lab_id = str(labs[lab].pk) if lab in labs else lab

    with pytest.raises(CommandError, match=error):
        run(
            "create_webhook_endpoint", "--lab", lab_id, "--url", url, "--events", events
        )

    assert not WebhookEndpoint.objects.exists()


def test_rotate_prints_the_new_secret_and_keeps_the_old_one_valid(labs, subscribe):
    endpoint = subscribe(labs["north"])
    old = endpoint.secret

    out = run("rotate_webhook_secret", "--endpoint", str(endpoint.pk))

    notice, new = out.splitlines()
    assert "the previous one stays valid for 24 hour(s)" in notice
    endpoint = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert endpoint.signing_secrets() == [new, old]
    entry = ActivityLog.objects.filter(model_label="core.webhookendpoint").latest("id")
    assert entry.actor_id == "command:rotate_webhook_secret"


def test_rotate_names_an_unknown_endpoint(db):
    with pytest.raises(CommandError, match="There is no webhook endpoint 404"):
        run("rotate_webhook_secret", "--endpoint", "404")


@pytest.fixture
def failed_endpoint(
    labs: dict[str, Lab],
    subscribe: Callable[..., WebhookEndpoint],
    receiver: WebhookReceiver,
    webhook_settings: Any,
    deliver: Callable[..., None],
) -> WebhookEndpoint:
    """An endpoint with one delivered and two failed deliveries."""
    webhook_settings.WEBHOOK_MAX_ATTEMPTS = 1
    webhook_settings.WEBHOOK_DISABLE_AFTER_FAILURES = 10
    endpoint = subscribe(labs["north"])
    patient = new_patient(labs["north"])
    deliver()
    receiver.answer_next(500, "busy", times=2)
    patient.first_name = "Asha Devi"
    patient.save()
    new_patient(labs["north"], first_name="Ravi")
    deliver()
    return endpoint


def test_the_listing_shows_each_delivery_and_failed_only_on_request(failed_endpoint):
    everything = run("webhook_deliveries", "--endpoint", str(failed_endpoint.pk))
    failed = run(
        "webhook_deliveries", "--endpoint", str(failed_endpoint.pk), "--failed"
    )

    assert everything.splitlines()[0].endswith("/… (active)")
    assert "3 delivery(ies) shown" in everything
    assert everything.count("succeeded") == 1
    assert "patient.created msg_" in everything
    assert failed.count("  failed  attempts=1  last=HTTP 500") == 2
    assert "2 delivery(ies) shown" in failed


def test_replaying_every_failed_delivery_resends_the_same_events(
    failed_endpoint, receiver, deliver
):
    failed_ids = {
        d.event_id for d in failed_endpoint.deliveries.filter(status=Status.FAILED)
    }

    out = run("replay_webhooks", "--endpoint", str(failed_endpoint.pk), "--all-failed")
    deliver()

    assert "2 delivery(ies) replayed" in out
    listing = run("webhook_deliveries", "--endpoint", str(failed_endpoint.pk))
    assert listing.count("  (replay of ") == 2
    replayed = {r.headers["webhook-id"] for r in receiver.verified()[-2:]}
    assert replayed == failed_ids
    replays = WebhookDelivery.objects.filter(replay_of__isnull=False)
    assert {r.status for r in replays} == {Status.SUCCEEDED}
    again = run(
        "replay_webhooks", "--endpoint", str(failed_endpoint.pk), "--all-failed"
    )
    assert "0 delivery(ies) replayed" in again  # each failure is replayed once
    entry = ActivityLog.objects.filter(action="replay").latest("id")
    assert entry.message == "2 failed delivery(ies) replayed"
    assert entry.actor_id == "command:replay_webhooks"


def test_replaying_chosen_deliveries(failed_endpoint, receiver, deliver):
    first, *_ = failed_endpoint.deliveries.order_by("id")

    out = run(
        "replay_webhooks",
        "--endpoint", str(failed_endpoint.pk),
        "--delivery", str(first.pk),
    )  # fmt: skip
    deliver()

    assert f"delivery {first.pk} replayed as delivery" in out
    assert receiver.verified()[-1].headers["webhook-id"] == first.event_id


def test_a_disabled_endpoint_is_replayed_only_with_enable(failed_endpoint):
    failed_endpoint.disable("Receiver down")
    endpoint = str(failed_endpoint.pk)

    with pytest.raises(CommandError, match=r"is disabled .*enable it first"):
        run("replay_webhooks", "--endpoint", endpoint, "--all-failed")
    out = run("replay_webhooks", "--endpoint", endpoint, "--all-failed", "--enable")

    assert out.splitlines()[0] == f"Endpoint {endpoint} enabled."
    assert "2 delivery(ies) replayed" in out


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--all-failed", "--delivery", "1"], "Pass --delivery ID"),
        ([], "Pass --delivery ID"),
        (["--delivery", "99999"], "has no delivery 99999"),
    ],
)
def test_replay_refuses_unclear_requests(failed_endpoint, args, error):
    with pytest.raises(CommandError, match=error):
        run("replay_webhooks", "--endpoint", str(failed_endpoint.pk), *args)


def test_a_pending_delivery_is_not_replayed(labs, subscribe):
    endpoint = subscribe(labs["north"])
    new_patient(labs["north"])  # no worker: it stays pending
    [delivery] = endpoint.deliveries.all()
    listing = run("webhook_deliveries", "--endpoint", str(endpoint.pk))
    assert "  pending  attempts=0  last=-  next=" in listing

    with pytest.raises(CommandError, match="is still pending"):
        run(
            "replay_webhooks",
            "--endpoint", str(endpoint.pk),
            "--delivery", str(delivery.pk),
        )  # fmt: skip


def test_commands_name_an_unknown_endpoint(db):
    for command, extra in (
        ("webhook_deliveries", []),
        ("replay_webhooks", ["--all-failed"]),
    ):
        with pytest.raises(CommandError, match="There is no webhook endpoint 404"):
            run(command, "--endpoint", "404", *extra)


def test_the_listing_needs_a_positive_limit(labs, subscribe):
    endpoint = subscribe(labs["north"])

    with pytest.raises(CommandError, match="--limit must be at least 1"):
        run("webhook_deliveries", "--endpoint", str(endpoint.pk), "--limit", "0")
