"""Fixtures for webhook tests: fast delivery settings, a receiver stand-in,
subscriptions to it, running the deliveries, and patients to make events
with. Imported by the test modules (and conftest files) that need them.

Fixture functions are named `<name>_fixture`, as in
tests/core/middleware/fixtures.py, so a test module imports
`receiver_fixture` and its tests take `receiver` without shadowing it.
`deliver` needs Fusion's `database_engine` and `run_worker` fixtures
(tests/fusion_fixtures.py) imported beside it."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from core.models.webhook import WebhookDelivery, WebhookEndpoint
from patients.models import Patient
from tests.standins.webhook_receiver import WebhookReceiver


@pytest.fixture(name="webhook_settings")
def webhook_settings_fixture(settings: Any) -> Any:
    """Receivers on 127.0.0.1 allowed, retries at once, few attempts."""
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    settings.WEBHOOK_RETRY_DELAYS_SECONDS = [0.0]
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    settings.WEBHOOK_TIMEOUT_SECONDS = 2
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 2
    settings.WEBHOOK_ALERT_SLACK_CHANNEL = ""
    settings.WEBHOOK_CA_FILE = ""
    settings.WEBHOOK_SECRET_OVERLAP_HOURS = 24
    return settings


@pytest.fixture(name="receiver")
def receiver_fixture() -> Iterator[WebhookReceiver]:
    """A running receiver; stopped after the test."""
    with WebhookReceiver() as standin:
        yield standin


@pytest.fixture(name="subscribe")
def subscribe_fixture(
    webhook_settings: Any, receiver: WebhookReceiver
) -> Callable[..., WebhookEndpoint]:
    """`subscribe(lab, events=["*"], to=receiver)`: a saved endpoint whose
    secret the receiver (`to`) knows."""

    def make(
        lab: Any, events: list[str] | None = None, to: WebhookReceiver | None = None
    ) -> WebhookEndpoint:
        target = to or receiver
        endpoint, secret = WebhookEndpoint.create(lab, target.url, events or ["*"])
        target.secrets.append(secret)
        return endpoint

    return make


@pytest.fixture(name="deliver")
def deliver_fixture(run_worker: Callable[..., None]) -> Callable[..., None]:
    """`deliver(until=all_finished, max_tasks=None)`: run the in-process
    Fusion worker until no delivery is pending (or `until()` is true, or
    `max_tasks` jobs ran)."""

    def deliver(
        until: Callable[[], Any] | None = None, *, max_tasks: int | None = None
    ) -> None:
        run_worker(until or all_finished, max_tasks=max_tasks)

    return deliver


def new_patient(lab: Any, **fields: Any) -> Patient:
    """A saved patient of `lab`."""
    values = {
        "first_name": "Asha",
        "last_name": "Rao",
        "sex": Patient.Sex.FEMALE,
        "phone": "+919876543210",
        "email": "asha@example.com",
        **fields,
    }
    patient = Patient(lab=lab, **values)
    patient.save()
    return patient


def deliveries(endpoint: WebhookEndpoint) -> list[WebhookDelivery]:
    """The endpoint's deliveries, oldest first."""
    return list(endpoint.deliveries.order_by("id"))


def all_finished() -> bool:
    """No delivery is pending any more."""
    return not WebhookDelivery.objects.filter(
        status=WebhookDelivery.Status.PENDING
    ).exists()
