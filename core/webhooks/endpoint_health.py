"""Counting an endpoint's failed deliveries, and disabling it when they pile up.

A delivery that fails for good adds one to its endpoint's
`consecutive_failures`; a delivered one resets it. At
settings.WEBHOOK_DISABLE_AFTER_FAILURES in a row (default 5: with the
default retries, a receiver down for most of a day), or at once on 410
Gone, the endpoint is disabled. The lab is told twice: the endpoint's
activity log entry (the change, with the reason) and, when
settings.WEBHOOK_ALERT_SLACK_CHANNEL is set, a Slack message posted by a
Fusion job, so Slack being down delays the message but never the delivery
bookkeeping. Both are written in the caller's transaction.
"""

from django.conf import settings
from django.db import models
from django.db.models import F

from core.models.webhook import WebhookEndpoint
from core.utils.activity_log.context import Actor, ActorKind, acting_as

#: Who the activity log names for endpoints disabled by the delivery machinery.
DELIVERY_ACTOR = Actor(
    id="job:webhooks", name="Webhook delivery", role="", kind=ActorKind.SYSTEM
)


def record_success(endpoint: WebhookEndpoint) -> None:
    """A delivery got through: the failure streak (if any) ends."""
    if endpoint.consecutive_failures:
        # Django's plain UPDATE, past BaseQuerySet's refusal: a counter is
        # bookkeeping, not a change of the subscription (see the field).
        models.QuerySet.update(
            WebhookEndpoint.objects.filter(pk=endpoint.pk, consecutive_failures__gt=0),
            consecutive_failures=0,
        )


def record_failure(endpoint_id: int, reason: str, *, gone: bool = False) -> bool:
    """A delivery failed for good; disable the endpoint when the streak
    reaches the limit, or at once when it is `gone`. Returns whether this
    call disabled it. Call inside a transaction."""
    models.QuerySet.update(
        WebhookEndpoint.objects.filter(pk=endpoint_id),
        consecutive_failures=F("consecutive_failures") + 1,
    )
    endpoint = (
        WebhookEndpoint.objects.select_for_update().filter(pk=endpoint_id).first()
    )
    if endpoint is None or not endpoint.is_active:
        return False
    streak = endpoint.consecutive_failures
    limit = settings.WEBHOOK_DISABLE_AFTER_FAILURES
    if gone:
        why = f"Disabled: the receiver answered 410 Gone ({reason})."
    elif streak >= limit:
        why = f"Disabled after {streak} failed deliveries in a row; last: {reason}."
    else:
        return False
    with acting_as(DELIVERY_ACTOR):
        endpoint.disable(why)
    tell_the_lab(endpoint, why)
    return True


def tell_the_lab(endpoint: WebhookEndpoint, why: str) -> None:
    """Post the disabling to settings.WEBHOOK_ALERT_SLACK_CHANNEL (if set),
    through a Fusion job enqueued in the current transaction."""
    channel = settings.WEBHOOK_ALERT_SLACK_CHANNEL
    if not channel:
        return
    endpoint.notify_on_slack(
        channel,
        f"Webhook endpoint {endpoint.pk} of lab {endpoint.lab_id} "
        f"({endpoint.display_url}) was disabled. {why} Fix the receiver, then "
        f"run `manage.py replay_webhooks --endpoint {endpoint.pk} --all-failed "
        "--enable` (or enable it in the admin) to send what it missed.",
    )
