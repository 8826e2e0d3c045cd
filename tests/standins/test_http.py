"""The HTTP stand-ins' shared server (tests/standins/http.py): stopped, it
refuses connections; started again, it listens on the same port, as a
restarted service does for a worker that was given its URL once."""

import json
import socket
import urllib.request

import pytest

from tests.standins.slack import SlackStandIn

pytestmark = pytest.mark.engine_independent


def auth_test(slack: SlackStandIn) -> dict[str, object]:
    request = urllib.request.Request(  # noqa: S310 - the stand-in's http URL
        f"{slack.base_url}auth.test",
        method="POST",
        headers={"Authorization": f"Bearer {slack.token}"},
    )
    with urllib.request.urlopen(request, timeout=2) as answer:  # noqa: S310 - local
        return dict(json.load(answer))


def test_a_stand_in_started_again_listens_on_the_same_port() -> None:
    with SlackStandIn() as slack:
        port = slack.port
        slack.stop()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=1)

        slack.start()

        assert slack.port == port
        assert auth_test(slack)["ok"] is True
        assert slack.problems == []


def test_a_stand_in_not_started_has_no_port() -> None:
    with pytest.raises(AssertionError, match="start"):
        _ = SlackStandIn().port
