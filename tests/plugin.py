"""The project's pytest plugin: what a domain app's tests need, loaded for
every test run by the repository's root conftest.py, so an app's tests,
wherever in the repository the app lives, take these fixtures by name and
import none. docs/domain-apps.md shows them in use.

Fixtures:

- `labs`: saved labs `central` -> `north` -> `north_clinic`, `central` ->
  `south`, and `other` (another network): a row of `other` must never show
  to `north`.
- `lab_factory`: `make_lab(name, parent=None, **fields)`, a saved lab.
- `run_worker(until)`: runs the Fusion database worker in the test's own
  process until `until()` is true (jobs the code under test enqueued run
  for real: retries, time limits, dead letters).
- `slack`: the Slack stand-in (tests/standins/slack.py), with the project's
  Slack client pointed at it; `slack.requests` are the messages it got.
- `pusher`: the Pusher stand-in, likewise; `pusher.events()`.
- `receiver`, `subscribe(lab, event_types)`, `deliver()`: a webhook
  receiver, a lab's subscription to it, and delivery of what is pending.

Helpers, imported from `tests.isolation.helpers`: `signed_in(lab,
kind="staff"|"doctor")` (a client signed in to the lab, CSRF enforced),
`send_json(client, method, url, body)`, `csrf_headers(client)`.

Every test also starts with fresh service clients (`fresh_clients`), so
no cached row or client outlives its test.
"""

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from admin.account.models import Lab, LabRelation
from core.models.activity_log_base import forget_parent_labs
from core.utils.clients import registry
from tests.standins.pusher import PusherStandIn
from tests.standins.slack import SlackStandIn

pytest_plugins = ["tests.fusion_fixtures", "tests.core.webhooks.fixtures"]


@pytest.fixture(autouse=True)
def fresh_clients() -> Iterator[None]:
    """Every test starts with fresh service clients, so the in-process
    instance cache never carries rows from one test's database to the next."""
    registry.reset()
    forget_parent_labs()
    yield
    registry.reset()


def make_lab(name: str, parent: Lab | None = None, **fields: object) -> Lab:
    """A saved lab, linked under `parent` when given."""
    lab = Lab(name=name, **fields)
    lab.save()
    if parent is not None:
        LabRelation(parent_lab=parent, child_lab=lab).save()
    return lab


@pytest.fixture
def lab_factory(db: None) -> Callable[..., Lab]:
    return make_lab


@pytest.fixture
def labs(db: None) -> dict[str, Lab]:
    """central -> north -> north_clinic, central -> south; plus unrelated other."""
    central = make_lab("Central", time_zone="Asia/Kolkata")
    north = make_lab("North", parent=central)
    south = make_lab("South", parent=central)
    north_clinic = make_lab("North Clinic", parent=north)
    other = make_lab("Other Network", time_zone="Europe/London", country="GB")
    return {
        "central": central,
        "north": north,
        "south": south,
        "north_clinic": north_clinic,
        "other": other,
    }


@pytest.fixture
def slack(settings: Any) -> Iterator[SlackStandIn]:
    """The Slack stand-in as the project's Slack service."""
    with SlackStandIn() as standin:
        settings.SERVICES = {
            **settings.SERVICES,
            "slack": {
                "BACKEND": "core.utils.slack.client.SlackClient",
                "OPTIONS": {"token": standin.token, "base_url": standin.base_url},
            },
        }
        registry.reset()
        yield standin
        registry.reset()


@pytest.fixture
def pusher(settings: Any) -> Iterator[PusherStandIn]:
    """The Pusher stand-in as the project's Pusher service."""
    with PusherStandIn() as standin:
        settings.SERVICES = {
            **settings.SERVICES,
            "pusher": {
                "BACKEND": "core.utils.pusher.client.PusherClient",
                "OPTIONS": standin.client_options(),
            },
        }
        registry.reset()
        yield standin
        registry.reset()
