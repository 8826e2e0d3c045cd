"""Webhooks delivered by real Fusion worker processes, on both engines, while
the receiver goes down mid-run and comes back: every event arrives, once,
with a valid signature."""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from admin.account.models import Lab
from core.models.webhook import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from tests.core.fusion.processes import WorkerProcess, wait_for, worker_env
from tests.core.fusion.test_broker_engine import celery_worker_argv
from tests.core.webhooks.fixtures import new_patient
from tests.standins.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.django_db(transaction=True)

#: What the worker processes need to reach the receiver and retry quickly.
WEBHOOK_ENV = {
    "WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "1",
    "WEBHOOK_RETRY_DELAYS_SECONDS": "0.3",
    "WEBHOOK_MAX_ATTEMPTS": "100",
    "WEBHOOK_TIMEOUT_SECONDS": "2",
    "WEBHOOK_ALERT_SLACK_CHANNEL": "",
}


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Start a worker process of `engine`; all are stopped afterwards."""
    started: list[WorkerProcess] = []

    def start(engine: str, prefix: str = "") -> WorkerProcess:
        env = {**worker_env(engine, prefix), **WEBHOOK_ENV}
        if engine == "database":
            argv = ["manage.py", "fusion_worker", "--queue-name", "*"]
            argv.append("--no-startup-delay")
        else:
            argv = celery_worker_argv(prefix, "default", "webhooks")
        worker = WorkerProcess(argv, env, tmp_path / f"worker-{len(started)}.log")
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def delivered_ids(receiver: WebhookReceiver) -> list[str]:
    return [request.headers["webhook-id"] for request in receiver.verified()]


def refused_attempts() -> int:
    return WebhookAttempt.objects.filter(error_class="ConnectionRefusedError").count()


def every_delivery_succeeded() -> bool:
    pending = WebhookDelivery.objects.exclude(status=WebhookDelivery.Status.SUCCEEDED)
    return WebhookDelivery.objects.exists() and not pending.exists()


def run_outage(
    labs: dict[str, Lab],
    subscribe: Callable[..., WebhookEndpoint],
    receiver: WebhookReceiver,
    worker: WorkerProcess,
) -> None:
    """One event delivered, the receiver stopped, two more events retried
    against the closed port, the receiver started again on it."""
    subscribe(labs["north"])
    patient = new_patient(labs["north"])
    wait_for(
        lambda: len(receiver.verified()) == 1, "the first delivery", workers=(worker,)
    )

    receiver.stop()
    patient.first_name = "Asha Devi"
    patient.save()
    new_patient(labs["north"], first_name="Ravi")
    wait_for(
        lambda: refused_attempts() >= 4,
        "attempts refused while the receiver is down",
        workers=(worker,),
    )
    assert len(receiver.requests) == 1

    receiver.start()
    wait_for(every_delivery_succeeded, "every delivery", workers=(worker,))


def test_the_database_worker_delivers_everything_after_the_receiver_returns(
    labs, subscribe, receiver, database_engine, start_worker
):
    worker = start_worker("database")

    run_outage(labs, subscribe, receiver, worker)

    events = set(WebhookEvent.objects.values_list("id", flat=True))
    assert sorted(delivered_ids(receiver)) == sorted(events)  # each once
    assert len(events) == 3
    assert receiver.problems == []


def test_the_celery_worker_delivers_everything_after_the_receiver_returns(
    labs, subscribe, receiver, celery_engine, broker_queue_prefix, start_worker
):
    worker = start_worker("celery", broker_queue_prefix)
    wait_for(lambda: " ready." in worker.output(), "Celery to start", workers=(worker,))

    run_outage(labs, subscribe, receiver, worker)

    events = set(WebhookEvent.objects.values_list("id", flat=True))
    assert sorted(delivered_ids(receiver)) == sorted(events)
    assert len(events) == 3
    assert receiver.problems == []
