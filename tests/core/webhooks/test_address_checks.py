"""The address rules where they are applied: when an endpoint is saved, and
before every delivery attempt, each tested with every row of the one table
(address_table.py) and both settings of WEBHOOK_ALLOW_PRIVATE_ADDRESSES."""

import pytest
from django.core.exceptions import ValidationError

from core.models.webhook import WebhookDelivery, WebhookEndpoint
from core.utils.webhooks.addresses import check_target
from core.utils.webhooks.signing import generate_secret
from core.webhooks.delivery import attempt_delivery
from core.webhooks.sender import send_webhook
from tests.core.utils.webhooks.address_table import cases
from tests.core.webhooks.fixtures import deliveries, new_patient

pytestmark = pytest.mark.django_db

BODY = b'{"id":"msg_1","type":"patient.created"}'


# -- when an endpoint is saved ------------------------------------------------


@pytest.mark.parametrize(("row", "allow_private"), cases(accepted=False))
def test_saving_an_endpoint_with_a_refused_address_fails_with_the_reason(
    labs, settings, row, allow_private
):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = allow_private

    with pytest.raises(ValidationError) as refused:
        WebhookEndpoint.create(labs["north"], row.url, ["*"])

    [message] = refused.value.message_dict["url"]
    assert f"Webhooks cannot be sent to {row.ip}, " in message
    assert row.refusal(allow_private) in message
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(("row", "allow_private"), cases(accepted=True))
def test_saving_an_endpoint_with_an_accepted_address_succeeds(
    labs, settings, row, allow_private
):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = allow_private

    endpoint, _ = WebhookEndpoint.create(labs["north"], row.url, ["*"])

    assert WebhookEndpoint.objects.get(pk=endpoint.pk).url == row.url


# -- before every delivery attempt --------------------------------------------


@pytest.mark.parametrize(("row", "allow_private"), cases(accepted=False))
def test_an_attempt_to_a_refused_address_fails_for_good_before_connecting(
    row, allow_private
):
    result = send_webhook(
        row.url,
        "msg_1",
        BODY,
        [generate_secret()],
        timeout_seconds=2,
        allow_private=allow_private,
    )

    assert result.status_code is None
    assert result.error_class == "UnsafeWebhookURL"
    assert not result.retryable
    assert f"Webhooks cannot be sent to {row.ip}, " in result.error_message
    assert row.refusal(allow_private) in result.error_message


@pytest.mark.parametrize(("row", "allow_private"), cases(accepted=True))
def test_an_attempt_to_an_accepted_address_connects_to_that_address(row, allow_private):
    # send_webhook's own check (it would then connect to these addresses,
    # which would leave this machine: the tests never reach the internet).
    target = check_target(row.url, allow_private=allow_private)

    assert target.addresses == (str(row.ip),)
    assert (target.port, target.path) == (8000, "/hooks")


@pytest.mark.parametrize(
    ("row", "allow_private"), cases(accepted=False, reported_only=True)
)
def test_an_endpoint_saved_under_the_old_rules_gets_nothing(
    labs, subscribe, receiver, webhook_settings, row, allow_private
):
    # given an endpoint saved before these addresses were refused, and an
    # event for it
    endpoint = subscribe(labs["north"])
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update_without_hooks(url=row.url)
    webhook_settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = allow_private
    new_patient(labs["north"])
    [delivery] = deliveries(endpoint)

    # when the delivery is attempted
    outcome = attempt_delivery(delivery.pk)

    # then it fails for good, says why, and nothing was sent anywhere
    assert outcome == "failed"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (WebhookDelivery.Status.FAILED, 1)
    [attempt] = delivery.attempt_log.all()
    assert attempt.error_class == "UnsafeWebhookURL"
    assert row.refusal(allow_private) in attempt.error_message
    assert receiver.requests == []
