"""POST /core/pusher/auth/: a signed-in session may subscribe to its own
lab's private channel and to no other, checked with Django's test client and
real sign-ins; the signature it returns is verified by the Pusher stand-in.
A session's lab counts only as re-authorised on the request (its user
active): a lab id planted in a session, or a deactivated user's session,
gets nothing."""

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from admin.account.models import Lab, User
from tests.core.middleware.fixtures import PASSWORD, make_user, post_json
from tests.standins.pusher import PusherStandIn

URL = "/core/pusher/auth/"
SOCKET_ID = "1234.5678"


@pytest.fixture
def pusher(settings) -> Iterator[PusherStandIn]:
    """The pusher service pointed at a stand-in (whose secret signs answers)."""
    with PusherStandIn() as standin:
        settings.SERVICES = {
            **settings.SERVICES,
            "pusher": {
                "BACKEND": "core.utils.pusher.client.PusherClient",
                "OPTIONS": standin.client_options(),
            },
        }
        yield standin


def session_client(**session_values: object) -> Client:
    """A test client whose (database) session holds `session_values`, and
    nobody signed in."""
    client = Client()
    session = client.session
    session.update(session_values)
    session.save()
    return client


def signed_in(lab: Lab, kind: str = "staff", **client_options: Any) -> Client:
    """A client signed in (through the JSON sign-in) as a new user of `lab`."""
    make_user(f"{kind}-{lab.pk}", lab, kind=kind)
    client = Client(**client_options)
    client.get("/core/auth/csrf/")
    answer = post_json(
        client,
        "/core/auth/login/",
        {"username": f"{kind}-{lab.pk}", "password": PASSWORD},
        **{"X-CSRFToken": client.cookies["csrftoken"].value},
    )
    assert answer.status_code == 200, answer.content
    return client


def subscribe(client: Client, channel: str, socket_id: str = SOCKET_ID):
    return client.post(URL, {"socket_id": socket_id, "channel_name": channel})


def test_staff_may_subscribe_to_their_labs_channel(db, labs, pusher):
    lab = labs["north"]
    response = subscribe(signed_in(lab), f"private-lab-{lab.pk}")

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    auth = response.json()["auth"]
    assert pusher.subscription_is_valid(SOCKET_ID, f"private-lab-{lab.pk}", auth)


def test_a_doctor_subscribes_to_their_labs_channel(db, labs, pusher):
    lab = labs["south"]
    response = subscribe(signed_in(lab, "doctor"), f"private-lab-{lab.pk}")

    assert response.status_code == 200
    assert pusher.subscription_is_valid(
        SOCKET_ID, f"private-lab-{lab.pk}", response.json()["auth"]
    )


@pytest.mark.parametrize(
    "other",
    ["other", "central", "north_clinic", "south"],  # unrelated, parent, child, sibling
)
def test_every_other_labs_channel_is_forbidden(db, labs, pusher, other):
    client = signed_in(labs["north"])

    response = subscribe(client, f"private-lab-{labs[other].pk}")

    assert response.status_code == 403
    assert "auth" not in response.json()
    assert response.json()["error"] == "You may only subscribe to your lab's channel."


@pytest.mark.parametrize(
    "variant",
    [
        "presence-lab-{id}",
        "private-encrypted-lab-{id}",
        "lab-{id}",
        "private-lab-{id}0",
    ],
)
def test_look_alikes_of_the_own_channel_are_forbidden(db, labs, pusher, variant):
    lab = labs["north"]

    response = subscribe(signed_in(lab), variant.format(id=lab.pk))

    assert response.status_code == 403


@pytest.mark.parametrize(
    "session_values",
    [{}, {"labId": None}, {"labId": "not-a-lab"}, {"labId": 1}, {"docLabId": "1"}],
)
def test_a_session_without_a_signed_in_lab_may_subscribe_to_nothing(
    db, labs, pusher, session_values
):
    planted = {k: labs["north"].pk if v == 1 else v for k, v in session_values.items()}

    response = subscribe(session_client(**planted), f"private-lab-{labs['north'].pk}")

    assert response.status_code == 403
    assert response.json()["error"] == "Sign in to a lab to receive its updates."


def test_a_deactivated_users_session_may_subscribe_to_nothing(db, labs, pusher):
    # Given a signed-in user whose account is then deactivated
    lab = labs["north"]
    client = signed_in(lab)
    User.objects.filter(username=f"staff-{lab.pk}").update(is_active=False)

    # Then the session left behind cannot listen to the lab's channel (which
    # carries links to patient PDFs)
    response = subscribe(client, f"private-lab-{lab.pk}")

    assert response.status_code == 403


@pytest.mark.parametrize(
    "form",
    [
        {"channel_name": "private-lab-1"},
        {"socket_id": SOCKET_ID},
        {"socket_id": "not-a-socket", "channel_name": "private-lab-1"},
        {"socket_id": SOCKET_ID, "channel_name": "private lab 1"},
        {"socket_id": SOCKET_ID, "channel_name": "x" * 201},
    ],
)
def test_malformed_input_is_a_bad_request(db, labs, pusher, form):
    client = session_client(labId=1)

    response = client.post(URL, form)

    assert response.status_code == 400
    assert "socket_id" in response.json()["error"]


def test_only_post_is_allowed(db, pusher):
    assert session_client(labId=1).get(URL).status_code == 405


def test_the_csrf_token_is_required(db, labs, pusher):
    # given a browser-like client that enforces CSRF, with a lab session
    client = signed_in(labs["north"], enforce_csrf_checks=True)
    channel = f"private-lab-{labs['north'].pk}"

    # then a post without the token is refused, and with it accepted
    assert subscribe(client, channel).status_code == 403
    token = client.cookies["csrftoken"].value
    response = client.post(
        URL,
        {"socket_id": SOCKET_ID, "channel_name": channel},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 200


def test_the_log_backend_answers_in_the_same_shape(db, labs, settings):
    settings.SERVICES = {
        **settings.SERVICES,
        "pusher": {
            "BACKEND": "core.utils.pusher.client.LogPusherClient",
            "OPTIONS": {},
        },
    }
    lab = labs["north"]

    response = subscribe(signed_in(lab), f"private-lab-{lab.pk}")

    assert response.status_code == 200
    assert response.json()["auth"].startswith("log:")
