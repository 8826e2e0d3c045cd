"""Webhook history retention (core/webhooks/retention.py and
`manage.py prune_webhooks`): old, finished events go with their deliveries
and attempts; anything pending or recently touched stays."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from core.models.webhook import WebhookAttempt, WebhookDelivery, WebhookEvent
from core.webhooks.replay import replay_delivery
from core.webhooks.retention import WebhookPrune, prune_webhook_history
from tests.core.webhooks.fixtures import all_finished, new_patient

pytestmark = pytest.mark.django_db(transaction=True)


def age(event: WebhookEvent, days: int) -> None:
    """Move the event and its deliveries `days` days into the past."""
    then = timezone.now() - dt.timedelta(days=days)
    WebhookEvent.objects.filter(pk=event.pk).update(occurred_at=then)
    deliveries = WebhookDelivery.objects.filter(event=event)
    deliveries.update(created_at=then)
    deliveries.exclude(finished_at=None).update(finished_at=then)


def delivered_event(lab, run_worker) -> WebhookEvent:
    """A patient.created event delivered (one delivery, one attempt)."""
    patient = new_patient(lab)
    run_worker(all_finished)
    return WebhookEvent.objects.get(object_id=str(patient.pk))


def test_old_finished_history_goes_and_recent_history_stays(
    labs, subscribe, run_worker
):
    subscribe(labs["north"])
    old = delivered_event(labs["north"], run_worker)
    recent = delivered_event(labs["north"], run_worker)
    age(old, days=91)

    pruned = prune_webhook_history(90)

    assert pruned == WebhookPrune(events=1, deliveries=1, attempts=1)
    assert list(WebhookEvent.objects.values_list("pk", flat=True)) == [recent.pk]
    assert WebhookDelivery.objects.filter(event=recent).count() == 1
    assert WebhookAttempt.objects.count() == 1


def test_an_old_event_still_being_delivered_stays(labs, subscribe):
    subscribe(labs["north"])
    new_patient(labs["north"])  # its delivery is pending: no worker ran
    event = WebhookEvent.objects.get()
    age(event, days=200)

    assert prune_webhook_history(90) == WebhookPrune(0, 0, 0)
    assert WebhookEvent.objects.filter(pk=event.pk).exists()


def test_an_old_event_replayed_lately_stays_with_its_whole_history(
    labs, subscribe, run_worker
):
    subscribe(labs["north"])
    event = delivered_event(labs["north"], run_worker)
    age(event, days=200)
    replay_delivery(WebhookDelivery.objects.get(event=event))
    run_worker(all_finished)

    assert prune_webhook_history(90) == WebhookPrune(0, 0, 0)
    assert WebhookDelivery.objects.filter(event=event).count() == 2


def test_the_command_counts_first_then_removes(labs, subscribe, run_worker, settings):
    subscribe(labs["north"])
    age(delivered_event(labs["north"], run_worker), days=40)
    settings.WEBHOOK_HISTORY_DAYS = 30
    out = StringIO()

    call_command("prune_webhooks", "--dry-run", stdout=out)
    assert WebhookEvent.objects.count() == 1
    call_command("prune_webhooks", stdout=out)
    assert not WebhookEvent.objects.exists()

    assert out.getvalue().splitlines() == [
        "webhook history older than 30 days: would remove 1 event(s), "
        "1 delivery(ies), 1 attempt(s)",
        "webhook history older than 30 days: removed 1 event(s), "
        "1 delivery(ies), 1 attempt(s)",
    ]
    with pytest.raises(CommandError, match="at least 1 day, not 0"):
        call_command("prune_webhooks", "--days", "0")
