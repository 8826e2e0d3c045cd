"""PusherClient against a Pusher stand-in (tests/standins/pusher.py) that
verifies each request's signature itself: lab channels, the 10 KB limit,
errors, outages and health; and the log backend."""

import hashlib
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from config.settings.services import build_services
from core.utils.clients import get_client
from core.utils.pusher.channels import MAX_EVENT_DATA_BYTES, lab_channel
from core.utils.pusher.client import LogPusherClient, PusherClient
from core.utils.pusher.exceptions import (
    InvalidChannelRequest,
    PusherPayloadTooLarge,
    PusherRejected,
    PusherUnavailable,
)
from tests.standins.pusher import PusherStandIn, sign

pytestmark = pytest.mark.engine_independent


@pytest.fixture
def pusher() -> Iterator[PusherStandIn]:
    with PusherStandIn() as standin:
        yield standin


@pytest.fixture
def client(pusher: PusherStandIn) -> Iterator[PusherClient]:
    made = PusherClient(**pusher.client_options(), timeout_seconds=2)
    yield made
    made.close()


def test_an_event_reaches_the_labs_private_channel_signed(pusher, client):
    client.trigger(
        12,
        "sample.updated",
        {"id": 7, "version": 3},
        event_id="sample-7.v3",
        socket_id="123.456",
    )

    assert pusher.problems == []  # path, key, timestamp, body_md5, signature all good
    [event] = pusher.events
    assert event.channels == ["private-lab-12"]
    assert event.name == "sample.updated"
    assert event.payload == {"event_id": "sample-7.v3", "id": 7, "version": 3}
    assert event.socket_id == "123.456"


@pytest.mark.parametrize(
    ("lab_id", "channel"), [(12, "private-lab-12"), ("7", "private-lab-7")]
)
def test_lab_channel_names(lab_id, channel):
    assert lab_channel(lab_id) == channel


@pytest.mark.parametrize("lab_id", [0, -1, "12a", "1 2", "", None, True, 1.5, "../1"])
def test_lab_channel_refuses_anything_but_a_positive_id(lab_id):
    with pytest.raises(ValueError, match="positive whole number"):
        lab_channel(lab_id)


def test_data_up_to_10_kb_is_sent_and_more_is_refused_before_sending(pusher, client):
    # "é" is two bytes, so the limit counts bytes; the id and braces count too
    envelope = len('{"event_id":"e-12","t":""}')  # 26: the rest fills 10 KB exactly
    fits = {"t": "é" * ((MAX_EVENT_DATA_BYTES - envelope) // 2)}
    client.trigger(1, "report.ready", fits, event_id="e-12")

    with pytest.raises(PusherPayloadTooLarge, match="Send the record's id") as excinfo:
        client.trigger(1, "report.ready", {"t": fits["t"] + "x"}, event_id="e-12")

    assert not excinfo.value.retryable
    assert pusher.request_count == 1 and len(pusher.events) == 1


def test_a_wrong_secret_is_refused_by_pusher_and_never_shown(pusher):
    options = {**pusher.client_options(), "secret": "not-the-secret"}
    wrong = PusherClient(**options)

    with pytest.raises(PusherRejected, match="HTTP 401") as excinfo:
        wrong.trigger(1, "sample.updated", {"id": 1}, event_id="sample-1")

    assert excinfo.value.status == 401 and not excinfo.value.retryable
    assert "not-the-secret" not in str(excinfo.value)
    assert pusher.problems == ["auth_signature does not match"]
    assert pusher.events == []


def test_pusher_errors_tell_retryable_from_final(pusher, client):
    pusher.answer_next(500, '{"error": "internal"}')
    with pytest.raises(PusherUnavailable, match="HTTP 500") as unavailable:
        client.trigger(1, "sample.updated", {"id": 1}, event_id="sample-1")

    pusher.answer_next(413, '{"error": "too large"}')
    with pytest.raises(PusherRejected, match="HTTP 413") as rejected:
        client.trigger(1, "sample.updated", {"id": 1}, event_id="sample-1")

    assert unavailable.value.retryable and not rejected.value.retryable


def test_pusher_down_gives_a_retryable_error(pusher, client):
    pusher.stop()

    with pytest.raises(PusherUnavailable, match="could not be reached") as excinfo:
        client.trigger(1, "sample.updated", {"id": 1}, event_id="sample-1")

    assert excinfo.value.retryable


def test_a_slow_pusher_times_out(pusher):
    slow = PusherClient(**pusher.client_options(), timeout_seconds=0.3)
    pusher.answer_next(200, "{}", delay_seconds=5)

    with pytest.raises(PusherUnavailable, match="ReadTimeout"):
        slow.trigger(1, "sample.updated", {"id": 1}, event_id="sample-1")
    slow.close()


def test_threads_share_one_client(pusher, client):
    threads = [
        threading.Thread(
            target=client.trigger,
            args=(lab, "sample.updated", {"n": lab}),
            kwargs={"event_id": f"sample-{lab}"},
        )
        for lab in range(1, 9)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert pusher.problems == []
    assert sorted(e.channels[0] for e in pusher.events) == [
        f"private-lab-{lab}" for lab in range(1, 9)
    ]


@pytest.mark.parametrize("event", ["", "x" * 201, None])
def test_a_bad_event_name_is_refused_before_sending(pusher, client, event):
    with pytest.raises(InvalidChannelRequest, match="event name"):
        client.trigger(1, event, {"id": 1}, event_id="sample-1")

    assert pusher.request_count == 0


@pytest.mark.parametrize(
    "event_id", ["", "x" * 101, "two words", "é", None, 7, "a/b", "line\nbreak"]
)
def test_an_event_without_a_usable_stable_id_is_refused_before_sending(
    pusher, client, event_id
):
    with pytest.raises(InvalidChannelRequest, match="stable event_id"):
        client.trigger(1, "sample.updated", {"id": 1}, event_id=event_id)

    assert pusher.request_count == 0


@pytest.mark.parametrize("data", ["text", ["a"], {"event_id": "other", "id": 1}])
def test_data_must_be_an_object_that_leaves_the_id_to_the_client(pusher, client, data):
    with pytest.raises(InvalidChannelRequest, match="JSON object without"):
        client.trigger(1, "sample.updated", data, event_id="sample-1")

    assert pusher.request_count == 0


def test_the_same_step_sent_twice_carries_the_same_id(pusher, client):
    for _ in range(2):
        client.trigger(1, "sample.updated", {"id": 1}, event_id="sample-1.v2")

    ids = [event.payload["event_id"] for event in pusher.events]
    assert ids == ["sample-1.v2", "sample-1.v2"]


# -- authentication of subscriptions --------------------------------------------
def test_authenticate_signs_what_pusher_will_verify(pusher, client):
    answer = client.authenticate("private-lab-12", "1234.5678")

    assert set(answer) == {"auth"}
    assert pusher.subscription_is_valid("1234.5678", "private-lab-12", answer["auth"])
    assert not pusher.subscription_is_valid(
        "1234.5678", "private-lab-13", answer["auth"]
    )


@pytest.mark.parametrize(
    ("channel", "socket_id"),
    [
        ("private lab", "1.2"),
        ("private-lab-1", "12"),
        ("x" * 201, "1.2"),
        (None, "1.2"),
    ],
)
def test_authenticate_refuses_malformed_input(client, channel, socket_id):
    with pytest.raises(InvalidChannelRequest):
        client.authenticate(channel, socket_id)


# -- health ------------------------------------------------------------------------
def test_check_is_ok_against_the_live_peer_and_not_ok_when_down(pusher, client):
    assert client.check(timeout=1).ok
    assert pusher.problems == []  # the check's GET was signed correctly too

    pusher.stop()
    status = client.check(timeout=1)
    assert not status.ok
    assert status.detail == "ConnectionError"


def test_check_is_not_ok_with_wrong_credentials(pusher):
    wrong = PusherClient(**{**pusher.client_options(), "secret": "wrong"})

    status = wrong.check(timeout=1)

    assert not status.ok
    assert status.detail == "PusherBadAuth"


# -- the stand-in itself checks what it gets ------------------------------------------
def signed_post(
    pusher: PusherStandIn, body: bytes, md5_of: bytes, timestamp: int
) -> int:
    """POST an event signed by hand; returns the HTTP status."""
    path = f"/apps/{pusher.app_id}/events"
    params = {
        "auth_key": pusher.key,
        "auth_timestamp": str(timestamp),
        "auth_version": "1.0",
        "body_md5": hashlib.md5(md5_of).hexdigest(),  # noqa: S324 - the protocol's
    }
    query = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    signature = sign(pusher.secret, f"POST\n{path}\n{query}")
    url = f"http://127.0.0.1:{pusher.port}{path}?{query}&auth_signature={signature}"
    request = urllib.request.Request(url, data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_the_standin_refuses_a_changed_body_or_an_old_timestamp(pusher):
    body = json.dumps(
        {"name": "e", "channels": ["private-lab-1"], "data": "{}"}
    ).encode()
    now = int(time.time())

    assert signed_post(pusher, body, body, now) == 200
    assert signed_post(pusher, body, b"another body", now) == 401
    assert signed_post(pusher, body, body, now - 3600) == 401
    assert pusher.problems == [
        "body_md5 does not match the body",
        "auth_timestamp is too far from now",
    ]


# -- the log backend and settings ----------------------------------------------------
def test_the_log_backend_logs_events_and_checks_them_like_pusher(caplog):
    caplog.set_level(logging.INFO, logger="core.utils.pusher.client")
    log = LogPusherClient()

    log.trigger(12, "sample.updated", {"id": 7}, event_id="sample-7")

    [record] = caplog.records
    assert record.levelno == logging.INFO
    assert "sample.updated" in record.getMessage()
    assert "private-lab-12" in record.getMessage()
    assert "sample-7" in record.getMessage()
    with pytest.raises(PusherPayloadTooLarge):
        log.trigger(
            12, "sample.updated", {"t": "x" * MAX_EVENT_DATA_BYTES}, event_id="s-1"
        )
    with pytest.raises(InvalidChannelRequest, match="stable event_id"):
        log.trigger(12, "sample.updated", {"id": 7}, event_id="")
    assert set(log.authenticate("private-lab-12", "1.2")) == {"auth"}
    assert log.check().ok


def test_settings_choose_the_log_backend_unless_pusher_is_configured(
    monkeypatch, tmp_path, settings, pusher
):
    for name in ("PUSHER_APP_ID", "PUSHER_KEY", "PUSHER_SECRET"):
        monkeypatch.delenv(name, raising=False)
    assert build_services(tmp_path)["pusher"]["BACKEND"].endswith(".LogPusherClient")

    environment: dict[str, Any] = {
        "PUSHER_APP_ID": pusher.app_id,
        "PUSHER_KEY": pusher.key,
        "PUSHER_SECRET": pusher.secret,
        "PUSHER_HOST": "127.0.0.1",
        "PUSHER_PORT": str(pusher.port),
        "PUSHER_SSL": "0",
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    settings.SERVICES = {
        **settings.SERVICES,
        "pusher": build_services(tmp_path)["pusher"],
    }

    get_client("pusher").trigger(3, "sample.updated", {"id": 1}, event_id="s-1")
    assert pusher.events[0].channels == ["private-lab-3"]
    assert pusher.problems == []
