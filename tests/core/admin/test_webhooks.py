"""Webhooks in the admin: endpoints edited but never created there, their
secrets never shown; deliveries read-only with their attempts; enable and
replay actions."""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from admin.account.models import Lab, User
from core.models.webhook import WebhookDelivery, WebhookEndpoint
from tests.core.webhooks.fixtures import new_patient
from tests.standins.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def admin_client(client: Client, db: None) -> Client:
    client.force_login(User.objects.create_superuser("root", "r@example.com", "pw"))
    return client


@pytest.fixture
def failed(
    labs: dict[str, Lab],
    subscribe: Callable[..., WebhookEndpoint],
    receiver: WebhookReceiver,
    webhook_settings: Any,
    deliver: Callable[..., None],
) -> WebhookDelivery:
    """An endpoint whose one delivery failed (HTTP 500) after one attempt."""
    webhook_settings.WEBHOOK_MAX_ATTEMPTS = 1
    endpoint = subscribe(labs["north"])
    receiver.answer_next(500, "receiver error page")
    new_patient(labs["north"])
    deliver()
    return endpoint.deliveries.get()


def test_endpoint_pages_never_show_a_secret(admin_client, labs, subscribe):
    endpoint = subscribe(labs["north"])
    secret = endpoint.secret
    endpoint.rotate_secret()

    listing = admin_client.get(reverse("admin:core_webhookendpoint_changelist"))
    page = admin_client.get(
        reverse("admin:core_webhookendpoint_change", args=[endpoint.pk])
    )

    for response in (listing, page):
        assert response.status_code == 200
        content = response.content.decode()
        assert secret not in content and endpoint.secret not in content
        assert "whsec_" not in content
    content = page.content.decode()
    assert 'name="url"' in content and 'name="events"' in content
    assert 'name="secret"' not in content and 'name="lab"' not in content


def test_endpoints_are_not_added_in_the_admin(admin_client):
    response = admin_client.get(reverse("admin:core_webhookendpoint_add"))

    assert response.status_code == 403


def test_an_unsafe_url_is_refused_in_the_form(admin_client, labs, subscribe):
    endpoint = subscribe(labs["north"])

    response = admin_client.post(
        reverse("admin:core_webhookendpoint_change", args=[endpoint.pk]),
        {
            "url": "http://169.254.169.254/latest/meta-data/",
            "description": "",
            "events": '["*"]',
            "is_active": "on",
            "loaded_version": endpoint.version,
        },
    )

    assert response.status_code == 200
    assert "a cloud metadata address" in response.content.decode()
    endpoint.refresh_from_db()
    assert endpoint.url.startswith("http://127.0.0.1")


def test_the_enable_action_turns_endpoints_back_on(admin_client, labs, subscribe):
    endpoint = subscribe(labs["north"])
    endpoint.disable("Receiver down")

    response = admin_client.post(
        reverse("admin:core_webhookendpoint_changelist"),
        {"action": "enable_endpoints", "_selected_action": [endpoint.pk]},
        follow=True,
    )

    assert "1 endpoint(s) enabled." in response.content.decode()
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).is_active


def test_the_delivery_page_shows_its_attempts_and_cannot_be_edited(
    admin_client, failed
):
    page = admin_client.get(
        reverse("admin:core_webhookdelivery_change", args=[failed.pk])
    )
    listing = admin_client.get(reverse("admin:core_webhookdelivery_changelist"))
    edit = admin_client.post(
        reverse("admin:core_webhookdelivery_change", args=[failed.pk]),
        {"status": "succeeded"},
    )

    assert page.status_code == listing.status_code == 200
    assert "receiver error page" in page.content.decode()
    assert "patient.created" in listing.content.decode()
    assert edit.status_code == 403
    assert WebhookDelivery.objects.get(pk=failed.pk).status == "failed"


def test_the_replay_action_sends_the_same_event_again(
    admin_client, failed, receiver, deliver
):
    response = admin_client.post(
        reverse("admin:core_webhookdelivery_changelist"),
        {"action": "replay_deliveries", "_selected_action": [failed.pk]},
        follow=True,
    )
    deliver()

    assert "1 delivery(ies) replayed." in response.content.decode()
    assert receiver.verified()[-1].headers["webhook-id"] == failed.event_id


def test_replaying_a_pending_delivery_is_refused_with_a_warning(
    admin_client, labs, subscribe
):
    endpoint = subscribe(labs["north"])
    new_patient(labs["north"])
    pending = endpoint.deliveries.get()

    response = admin_client.post(
        reverse("admin:core_webhookdelivery_changelist"),
        {"action": "replay_deliveries", "_selected_action": [pending.pk]},
        follow=True,
    )

    content = response.content.decode()
    assert "is still pending" in content and "0 delivery(ies) replayed." in content


def test_the_endpoint_action_replays_every_failed_delivery(
    admin_client, failed, receiver, deliver
):
    response = admin_client.post(
        reverse("admin:core_webhookendpoint_changelist"),
        {
            "action": "replay_failed_deliveries",
            "_selected_action": [failed.endpoint_id],
        },
        follow=True,
    )
    deliver()

    assert f"Endpoint {failed.endpoint_id}: 1 failed" in response.content.decode()
    assert receiver.verified()[-1].headers["webhook-id"] == failed.event_id


def test_replaying_for_a_disabled_endpoint_is_refused_with_a_warning(
    admin_client, failed
):
    failed.endpoint.disable("Receiver down")

    response = admin_client.post(
        reverse("admin:core_webhookendpoint_changelist"),
        {
            "action": "replay_failed_deliveries",
            "_selected_action": [failed.endpoint_id],
        },
        follow=True,
    )

    assert "enable it first" in response.content.decode()
    assert not WebhookDelivery.objects.filter(replay_of=failed).exists()


def test_staff_without_the_change_permission_cannot_replay(client, failed):
    viewer = User.objects.create_user("viewer", "v@example.com", "pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_webhookdelivery"))
    client.force_login(viewer)

    listing = client.get(reverse("admin:core_webhookdelivery_changelist"))

    assert listing.status_code == 200
    assert "replay_deliveries" not in listing.content.decode()
