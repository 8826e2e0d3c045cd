"""A Fusion Celery worker sends none of Celery's worker events.

The class of defect: Celery's messages between workers, on by default and
useful to nothing here: timers and publishes on the event loop that runs
the jobs (see `WORKER_OPTIONS`). Every way this project starts a worker passes
`broker_worker.WORKER_OPTIONS`; this test watches the wire: a queue bound to
Celery's event exchange, beside a worker started the supported way
(`manage.py fusion_worker`) and one started with Celery's defaults, which
shows that the probe hears events when there are some.
"""

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kombu import Connection, Exchange, Queue

from tests.core.fusion.processes import (
    BROKER_URL,
    WorkerProcess,
    wait_for,
    worker_env,
)

pytestmark = pytest.mark.django_db(transaction=True)

#: Celery's event exchange (its `event_exchange` setting, unchanged here).
EVENTS = Exchange("celeryev", type="topic", durable=True)
#: Longer than two of Celery's heartbeat intervals (2 s).
LISTEN_SECONDS = 5.0


@pytest.fixture
def events(broker_queue_prefix: str) -> Iterator[Queue]:
    """A private queue that gets every event of every worker."""
    with Connection(BROKER_URL) as connection:
        queue = Queue(
            f"{broker_queue_prefix}events", EVENTS, routing_key="#", auto_delete=True
        )(connection.default_channel)
        queue.declare()
        yield queue
        queue.delete()


def heard(queue: Queue) -> list[tuple[str, str]]:
    """(hostname, event type) of every event in the queue so far."""
    seen = []
    while (message := queue.get(no_ack=True)) is not None:
        event = json.loads(message.body)
        seen.append((event.get("hostname", ""), event.get("type", "")))
    return seen


def test_a_fusion_worker_sends_no_worker_events(
    celery_engine, broker_queue_prefix: str, events: Queue, tmp_path: Path
):
    ours = f"{broker_queue_prefix}ours@probe"
    defaults = f"{broker_queue_prefix}defaults@probe"
    env = worker_env("celery", broker_queue_prefix)
    workers = [
        WorkerProcess(
            ["manage.py", "fusion_worker", "--queue-name", "default",
             "--pool", "solo", "--worker-id", ours],
            env, tmp_path / "ours.log",
        ),
        WorkerProcess(
            ["-m", "celery", "-A", "core.fusion.celery_app", "worker",
             f"--queues={broker_queue_prefix}spare", "--pool=solo", "--loglevel=INFO",
             f"--hostname={defaults}"],
            env, tmp_path / "defaults.log",
        ),
    ]  # fmt: skip
    try:
        for worker in workers:
            wait_for(
                lambda w=worker: " ready." in w.output(),
                "Celery to start",
                workers=(worker,),
            )
        time.sleep(LISTEN_SECONDS)
        seen = heard(events)
    finally:
        for worker in workers:
            worker.stop()

    assert (defaults, "worker-heartbeat") in seen  # the probe hears events
    assert [event for event in seen if event[0] == ours] == []
