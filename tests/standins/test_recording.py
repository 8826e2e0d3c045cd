"""Every stand-in records what it received whatever happens to its reply
(tests/standins/http.py's invariant). Issue 20 point 6: the Pusher stand-in
did not record an event whose reply was delayed, so a test missed an event
sent twice. Each stand-in here gets one good request whose reply is delayed
past the client's timeout, or held until the client has given up and
closed the connection; the request must be counted all the same."""

import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from core.utils.pusher.client import PusherClient
from core.utils.pusher.exceptions import PusherUnavailable
from core.utils.webhooks.signing import signature_headers
from tests.standins.elasticsearch.server import JSON_TYPE, ElasticsearchStandIn
from tests.standins.pusher import PusherStandIn
from tests.standins.slack import SlackStandIn
from tests.standins.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.engine_independent

#: The client gives up this long before the delayed or held reply.
CLIENT_TIMEOUT_SECONDS = 0.3
#: How long a delayed reply waits: well past the client's timeout.
DELAY_SECONDS = 3.0
WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def post(url: str, headers: dict[str, str], body: bytes) -> None:
    """POST and expect no answer in time (the client gives up)."""
    request = urllib.request.Request(  # noqa: S310 - the stand-in's http URL
        url, data=body, headers=headers, method="POST"
    )
    with pytest.raises(OSError):  # a timeout: TimeoutError, or URLError around it
        urllib.request.urlopen(  # noqa: S310 - local
            request, timeout=CLIENT_TIMEOUT_SECONDS
        )


def send_to_pusher(pusher: PusherStandIn) -> None:
    client = PusherClient(**pusher.client_options(), timeout_seconds=0.3)
    with pytest.raises(PusherUnavailable, match="ReadTimeout"):
        client.trigger(1, "report.ready", {"id": 1}, event_id="release-1.report.ready")
    client.close()


def send_to_slack(slack: SlackStandIn) -> None:
    body = json.dumps({"channel": "#lab", "text": "release 1"}).encode()
    headers = {
        "Authorization": f"Bearer {slack.token}",
        "Content-Type": "application/json",
    }
    post(f"{slack.base_url}chat.postMessage", headers, body)


def send_to_receiver(receiver: WebhookReceiver) -> None:
    body = b'{"type":"report.released"}'
    headers = signature_headers("msg_1", int(time.time()), body, [WEBHOOK_SECRET])
    post(receiver.url, {**headers, "Content-Type": "application/json"}, body)


@contextmanager
def pusher_standin() -> Iterator[tuple[PusherStandIn, Callable[[], int]]]:
    with PusherStandIn() as pusher:
        yield pusher, lambda: len(pusher.events)


@contextmanager
def slack_standin() -> Iterator[tuple[SlackStandIn, Callable[[], int]]]:
    with SlackStandIn() as slack:
        yield slack, lambda: len(slack.requests)


@contextmanager
def webhook_receiver() -> Iterator[tuple[WebhookReceiver, Callable[[], int]]]:
    with WebhookReceiver() as receiver:
        receiver.secrets.append(WEBHOOK_SECRET)
        yield receiver, lambda: len(receiver.verified())


STANDINS: dict[str, tuple[Callable[[], Any], Callable[[Any], None]]] = {
    "pusher": (pusher_standin, send_to_pusher),
    "slack": (slack_standin, send_to_slack),
    "webhook receiver": (webhook_receiver, send_to_receiver),
}


@pytest.mark.parametrize("name", STANDINS)
def test_a_request_whose_reply_is_delayed_is_recorded(name: str) -> None:
    running, send = STANDINS[name]
    with running() as (standin, received):
        standin.answer_next(200, "{}", delay_seconds=DELAY_SECONDS)

        send(standin)  # the client gave up before the reply

        assert received() == 1
        assert standin.problems == []


@pytest.mark.parametrize("name", STANDINS)
def test_a_request_whose_client_is_gone_before_the_reply_is_recorded(
    name: str,
) -> None:
    running, send = STANDINS[name]
    with running() as (standin, received):
        hold = standin.hold_next()

        send(standin)  # gave up and closed its connection while held
        assert hold.wait_arrived(0)
        hold.release()  # the reply goes to nobody

        assert received() == 1
        assert standin.problems == []


@pytest.mark.parametrize("name", STANDINS)
def test_a_held_reply_is_let_go_by_stop(name: str) -> None:
    running, send = STANDINS[name]
    with running() as (standin, received):
        hold = standin.hold_next()
        send(standin)
        started = time.monotonic()

        standin.stop()

        assert received() == 1 and hold.wait_arrived(0)
        assert time.monotonic() - started < DELAY_SECONDS  # not HOLD_LIMIT_SECONDS
        standin.start()  # for the context manager's stop()


def test_elasticsearch_records_a_request_it_never_answers() -> None:
    with ElasticsearchStandIn() as es:
        es.hang_next()
        headers = {"Accept": JSON_TYPE, "Content-Type": JSON_TYPE}

        post(f"{es.url}/logs/_doc/doc-1", headers, b'{"message": "x"}')

        assert es.paths("POST") == ["/logs/_doc/doc-1"]
        assert es.problems == []


@pytest.mark.parametrize(("published", "events"), [(None, 0), (True, 1)])
def test_pusher_refusing_an_event_records_the_request_and_publishes_on_request(
    published: bool | None, events: int
) -> None:
    with PusherStandIn() as pusher:
        pusher.answer_next(500, '{"error": "internal"}', published=published)
        client = PusherClient(**pusher.client_options(), timeout_seconds=2)

        with pytest.raises(PusherUnavailable, match="HTTP 500"):
            client.trigger(1, "report.ready", {"id": 1}, event_id="release-1.r")
        client.close()

        assert pusher.request_count == 1  # received, whatever it answered
        assert len(pusher.events) == events  # what subscribers got
