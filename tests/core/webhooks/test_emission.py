"""`emit_webhook` for domain events, and the outbox on both Fusion engines:
an event and its jobs exist if and only if the transaction commits."""

import pytest
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from core.models.fusion import FusionJob
from core.models.webhook import WebhookDelivery, WebhookEvent
from core.webhooks import declare_webhook_event, emit_webhook
from tests.core.webhooks.fixtures import all_finished

pytestmark = pytest.mark.django_db(transaction=True)

SAMPLE_COLLECTED = declare_webhook_event(
    "sample.collected", "A sample was collected from the patient."
)


class Rollback(Exception):
    """Raised to roll a test's transaction back."""


def test_a_domain_event_reaches_the_endpoints_that_want_it(
    labs, subscribe, receiver, run_worker
):
    wants_it = subscribe(labs["north"], [SAMPLE_COLLECTED])
    subscribe(labs["north"], ["patient.created"])

    event = emit_webhook(
        labs["north"].pk,
        SAMPLE_COLLECTED,
        {"sample_id": 41, "barcode": "B-0041"},
        version=2,
        model_label="samples.sample",
        object_id=41,
    )
    run_worker(all_finished)

    assert event is not None
    [request] = receiver.verified()
    assert request.payload == {
        "id": event.id,
        "type": "sample.collected",
        "version": 2,
        "timestamp": request.payload["timestamp"],
        "lab_id": labs["north"].pk,
        "data": {"sample_id": 41, "barcode": "B-0041"},
    }
    assert [d.endpoint_id for d in WebhookDelivery.objects.all()] == [wants_it.pk]
    assert (event.model_label, event.object_id) == ("samples.sample", "41")


def test_nobody_subscribed_means_nothing_recorded(labs, subscribe):
    subscribe(labs["south"], [SAMPLE_COLLECTED])

    assert emit_webhook(labs["north"].pk, SAMPLE_COLLECTED, {"sample_id": 1}) is None
    assert not WebhookEvent.objects.exists()


def test_an_undeclared_event_type_is_refused(labs, subscribe):
    subscribe(labs["north"])

    with pytest.raises(ValueError, match="declare it with"):
        emit_webhook(labs["north"].pk, "sample.colected", {"sample_id": 1})

    assert not WebhookEvent.objects.exists()


def test_on_the_database_engine_a_rolled_back_event_leaves_no_job(
    labs, subscribe, database_engine
):
    subscribe(labs["north"])

    with pytest.raises(Rollback), transaction.atomic():
        emit_webhook(labs["north"].pk, SAMPLE_COLLECTED, {"sample_id": 1})
        raise Rollback

    assert not WebhookEvent.objects.exists()
    assert not DBTaskResult.objects.exists()


def test_on_the_broker_engine_the_job_is_in_the_outbox_iff_committed(
    labs, subscribe, celery_engine
):
    subscribe(labs["north"])

    with pytest.raises(Rollback), transaction.atomic():
        emit_webhook(labs["north"].pk, SAMPLE_COLLECTED, {"sample_id": 1})
        assert FusionJob.objects.count() == 1
        raise Rollback
    assert not FusionJob.objects.exists() and not WebhookEvent.objects.exists()

    emit_webhook(labs["north"].pk, SAMPLE_COLLECTED, {"sample_id": 2})

    [job] = FusionJob.objects.all()
    [delivery] = WebhookDelivery.objects.all()
    assert job.task_path == "core.webhooks.delivery.deliver_webhook"
    assert job.args_kwargs == {"args": [delivery.pk], "kwargs": {}}
