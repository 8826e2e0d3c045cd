"""A Celery worker's event loop runs the callbacks it queued itself before
it sleeps.

The class of defect: work the loop's own thread queues with `call_soon`
(Celery's acknowledgement of a finished job) waiting for the loop's next
timer. kombu's hub polls its sockets until that timer even when it has
callbacks queued, so a worker that had finished every message it
prefetched sent no acknowledgement, RabbitMQ sent it nothing more, and
both idled until the AMQP heartbeat check 2 s later (bench_jobs: a third of
the rounds at 240-500 jobs/s instead of about 750). `PromptCallbacksStep`
wakes the poll whenever callbacks are queued.

These tests drive kombu's own hub, as the worker does, with a socket
registered (as the broker connection is) and a timer a second away (as the
heartbeat check is); the callback under test is queued by another callback
of the loop, as an acknowledgement is by the job's message handler.
"""

import socket
import time
from collections.abc import Iterator

import pytest
from kombu.asynchronous.hub import Hub

from core.fusion.broker_app import build_celery_app
from core.fusion.broker_worker import PromptCallbacksStep, wake_for_queued_callbacks
from core.utils.fusion.options import EngineOptions

#: When the stand-in for the heartbeat check is due; the callback must run
#: well before it.
TIMER_SECONDS = 1.0
#: Turns of the loop allowed before giving up.
TURNS = 50


@pytest.fixture
def hub() -> Iterator[Hub]:
    """A kombu hub with an idle socket registered and a timer due in a
    second, as in a worker waiting on its broker connection."""
    hub = Hub()
    quiet, other_end = socket.socketpair()
    hub.add_reader(quiet, lambda: None)
    hub.call_later(TIMER_SECONDS, lambda: None)
    yield hub
    hub.close()
    quiet.close()
    other_end.close()


def queued_by_the_loop(hub: Hub) -> float | None:
    """Queue a callback that queues a second one from the loop's own
    thread; run the loop until the second ran. Returns how many seconds before the
    timer was due it ran (negative: after), None if it never did."""
    ran_at: list[float] = []
    due = time.monotonic() + TIMER_SECONDS
    hub.call_soon(lambda: hub.call_soon(lambda: ran_at.append(time.monotonic())))
    loop = hub.create_loop()
    for _ in range(TURNS):
        next(loop)
        if ran_at:
            return due - ran_at[0]
    return None


def test_a_callback_queued_by_the_loop_runs_before_the_next_timer(hub: Hub):
    wake_for_queued_callbacks(hub)

    early = queued_by_the_loop(hub)

    assert early is not None
    assert early > TIMER_SECONDS / 2  # the next turn, not the timer's


def test_without_the_wake_the_callback_waits_for_the_timer(hub: Hub):
    """Why PromptCallbacksStep exists: kombu as pinned. When this fails,
    kombu runs queued callbacks before polling, and the step can go."""
    early = queued_by_the_loop(hub)

    assert early is not None
    assert early < TIMER_SECONDS / 2


def test_every_fusion_worker_has_the_step():
    app = build_celery_app("default", EngineOptions(broker_url="memory://"))

    assert PromptCallbacksStep in app.steps["worker"]
