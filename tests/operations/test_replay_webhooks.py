"""Runbook "Replay webhooks" (docs/operations.md).

The class of defect: a runbook step that does not work. A receiver is down
until its endpoint is disabled (its deliveries failed), then comes back;
the documented commands are run in order, and the receiver must get every
event once, verified, with its original `webhook-id`.
"""

import io
import re

import pytest
from django.core.management import call_command

from core.models.webhook import WebhookDelivery, WebhookEndpoint
from tests.core.webhooks.fixtures import all_finished, new_patient

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def listed(output: str) -> set[int]:
    """The delivery ids `webhook_deliveries` lists (each line starts with one)."""
    return {int(pk) for pk in re.findall(r"^(\d+)  \d{4}-", output, re.MULTILINE)}


def test_failed_deliveries_are_replayed_once_the_receiver_is_back(
    labs, subscribe, receiver, deliver
):
    # Given a receiver that was down until its endpoint was disabled
    endpoint = subscribe(labs["north"], events=["patient.created"])
    receiver.stop()
    for name in ("Ana", "Ben"):
        new_patient(labs["north"], first_name=name, phone="", email="")
    deliver(all_finished)
    assert not WebhookEndpoint.objects.get(pk=endpoint.pk).is_active
    originals = list(endpoint.deliveries.order_by("pk"))
    events = {delivery.event_id for delivery in originals}
    assert len(events) == 2
    receiver.start()
    endpoint_id = str(endpoint.pk)

    failed = run("webhook_deliveries", "--endpoint", endpoint_id, "--failed")  # 1
    replayed = run(
        "replay_webhooks", "--endpoint", endpoint_id, "--all-failed", "--enable"
    )  # 2
    deliver(all_finished)
    failed_after = run("webhook_deliveries", "--endpoint", endpoint_id, "--failed")  # 3
    every = run("webhook_deliveries", "--endpoint", endpoint_id)

    assert listed(failed) == {delivery.pk for delivery in originals}
    assert f"Endpoint {endpoint_id} enabled." in replayed
    assert "2 delivery(ies) replayed" in replayed
    received = [request.headers["webhook-id"] for request in receiver.verified()]
    assert sorted(received) == sorted(events)  # each once, signed
    assert receiver.problems == []
    replays = WebhookDelivery.objects.filter(replay_of__in=originals)
    assert {d.status for d in replays} == {WebhookDelivery.Status.SUCCEEDED}
    assert listed(failed_after) == set()
    assert listed(every) == {d.pk for d in originals} | {d.pk for d in replays}
    assert every.count("succeeded") == 2 and every.count("(replay of ") == 2
