"""Delivering webhooks: the Fusion job, one attempt, and what it leaves behind.

Each pending delivery has exactly one `deliver_webhook` job waiting for it:
enqueued with the event (in the transaction of the change), or by the
previous attempt for the time its retry is due. A job:

1. re-reads the delivery, and abandons it if the endpoint was disabled
   meanwhile;
2. takes a lease on it (`sending_until`), with one conditional UPDATE that
   also checks it is still pending and due, so a stray duplicate job does
   nothing and no second worker sends it at the same time; a worker that
   dies mid-attempt leaves the lease to expire, and the job Fusion
   recovers reschedules itself for that moment;
3. sends it (sender.py), outside any transaction: a slow receiver holds
   no database lock;
4. in one transaction: records the attempt, moves the delivery on (see
   policy.py), enqueues the retry's job, and counts the endpoint's success
   or failure (endpoint_health.py).

A receiver error never fails the job: retries are the delivery's own,
with the webhook schedule. The job fails (and Fusion retries it) only when
our own database does.
"""

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.metrics.families import WEBHOOK_DELIVERIES, WEBHOOK_SEND_SECONDS
from core.models.webhook import MAX_REASON_CHARS, WebhookAttempt, WebhookDelivery
from core.utils.fusion import job
from core.webhooks import endpoint_health
from core.webhooks.policy import judge
from core.webhooks.sender import AttemptResult, send_webhook

#: Each attempt's own bound: connection plus reading the answer, with
#: settings.WEBHOOK_TIMEOUT_SECONDS per step, fits well within it.
DELIVERY_TIME_LIMIT_SECONDS = 60
#: Fusion retries the job only for our own failures (database down).
DELIVERY_JOB_MAX_ATTEMPTS = 10
#: How long past the job's time limit a lease outlives a dead worker.
LEASE_GRACE_SECONDS = 30
#: A job may start this early (clock steps, the engine's polling).
EARLY_START_TOLERANCE_SECONDS = 2
#: Longest per-step timeout used, whatever the setting says: the job's
#: time limit must leave room to record the attempt.
MAX_TIMEOUT_SECONDS = 20

Status = WebhookDelivery.Status


@job(
    max_attempts=DELIVERY_JOB_MAX_ATTEMPTS,
    time_limit_seconds=DELIVERY_TIME_LIMIT_SECONDS,
)
def deliver_webhook(delivery_id: int) -> str:
    """Make the next attempt of delivery `delivery_id` if it is due; returns
    what happened: "succeeded", "retry", "failed", "abandoned", "busy" or
    "skipped". Idempotent: see the module docstring. Each outcome is
    counted (core/metrics/families.py) once it is recorded."""
    outcome = attempt_delivery(delivery_id)
    WEBHOOK_DELIVERIES.labels(outcome).inc()
    return outcome


def schedule_delivery(delivery_id: int, run_after: dt.datetime | None = None) -> None:
    """Enqueue the job of delivery `delivery_id` (now, or at `run_after`).
    Inside a transaction, the job exists only if that commits."""
    task = (
        deliver_webhook
        if run_after is None
        else deliver_webhook.using(run_after=run_after)
    )
    task.enqueue(delivery_id)


def attempt_delivery(delivery_id: int) -> str:
    """One attempt of the delivery, if due; see `deliver_webhook`."""
    now = timezone.now()
    delivery = (
        WebhookDelivery.objects.select_related("event", "endpoint")
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None:
        return "skipped"
    if delivery.status == Status.PENDING and not delivery.endpoint.is_active:
        _abandon(delivery, now)
        return "abandoned"
    lease = _claim(delivery, now)
    if lease is None:
        return _wait_for_lease(delivery_id, now)
    endpoint, event = delivery.endpoint, delivery.event
    result = send_webhook(
        endpoint.url,
        event.id,
        event.body.encode(),
        endpoint.signing_secrets(),
        timeout_seconds=min(settings.WEBHOOK_TIMEOUT_SECONDS, MAX_TIMEOUT_SECONDS),
        allow_private=settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES,
        ca_file=settings.WEBHOOK_CA_FILE,
    )
    WEBHOOK_SEND_SECONDS.observe(result.duration_ms / 1000)
    return _record(delivery, lease, result)


def _claim(delivery: WebhookDelivery, now: dt.datetime) -> dt.datetime | None:
    """Take the lease for this attempt; its end, or None if the delivery is
    not pending, not due (a duplicate job: the delivery's own comes later),
    moved on since it was read, or leased by another worker."""
    lease = now + dt.timedelta(
        seconds=DELIVERY_TIME_LIMIT_SECONDS + LEASE_GRACE_SECONDS
    )
    due_by = now + dt.timedelta(seconds=EARLY_START_TOLERANCE_SECONDS)
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=due_by)
    free = Q(sending_until__isnull=True) | Q(sending_until__lt=now)
    claimed = WebhookDelivery.objects.filter(
        due, free, pk=delivery.pk, status=Status.PENDING, attempts=delivery.attempts
    ).update(sending_until=lease)
    return lease if claimed else None


def _wait_for_lease(delivery_id: int, now: dt.datetime) -> str:
    """The claim failed. If another attempt holds the lease (or held it
    when its worker died), come back when it expires; otherwise there is
    nothing to do."""
    held_until = (
        WebhookDelivery.objects.filter(
            pk=delivery_id, status=Status.PENDING, sending_until__gt=now
        )
        .values_list("sending_until", flat=True)
        .first()
    )
    if held_until is None:
        return "skipped"
    schedule_delivery(delivery_id, run_after=held_until)
    return "busy"


def _abandon(delivery: WebhookDelivery, now: dt.datetime) -> None:
    why = delivery.endpoint.disabled_reason or "by hand"
    WebhookDelivery.objects.filter(pk=delivery.pk, status=Status.PENDING).update(
        status=Status.ABANDONED,
        finished_at=now,
        next_attempt_at=None,
        last_error=f"Endpoint disabled: {why}"[:MAX_REASON_CHARS],
    )


def _record(
    delivery: WebhookDelivery, lease: dt.datetime, result: AttemptResult
) -> str:
    """Store the attempt and its consequences in one transaction."""
    number = delivery.attempts + 1
    verdict = judge(result, number)
    now = timezone.now()
    values: dict[str, object] = {
        "attempts": number,
        "sending_until": None,
        "last_response_status": result.status_code,
        "last_error": "" if result.succeeded else verdict.reason[:MAX_REASON_CHARS],
    }
    retry_at = None
    if verdict.retry_in_seconds is not None:
        retry_at = now + dt.timedelta(seconds=verdict.retry_in_seconds)
        values["next_attempt_at"] = retry_at
    else:
        status = Status.SUCCEEDED if result.succeeded else Status.FAILED
        values.update(status=status, finished_at=now, next_attempt_at=None)
    with transaction.atomic():
        mine = WebhookDelivery.objects.filter(
            pk=delivery.pk, status=Status.PENDING, sending_until=lease
        )
        if not mine.update(**values):
            return "skipped"  # the lease expired and another attempt took over
        WebhookAttempt.objects.create(
            delivery=delivery,
            number=number,
            started_at=result.started_at,
            duration_ms=result.duration_ms,
            outcome=verdict.outcome,
            response_status=result.status_code,
            response_body_excerpt=result.body_excerpt,
            error_class=result.error_class,
            error_message=result.error_message,
        )
        if retry_at is not None:
            schedule_delivery(delivery.pk, run_after=retry_at)
        elif result.succeeded:
            endpoint_health.record_success(delivery.endpoint)
        else:
            endpoint_health.record_failure(
                delivery.endpoint_id, verdict.reason, gone=verdict.endpoint_gone
            )
    return str(verdict.outcome)
