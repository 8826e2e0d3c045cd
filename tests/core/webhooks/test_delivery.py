"""Delivering webhooks with a real local receiver and the Fusion worker:
signed as the Standard Webhooks receiver checks, retried when it should be
(and only then), every attempt recorded, nothing lost while the receiver is
down, failing endpoints disabled and the lab told."""

import datetime as dt

import pytest
from django.db import connections
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from core.models import ActivityLog
from core.models.webhook import (
    RESPONSE_EXCERPT_BYTES,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from core.webhooks.delivery import attempt_delivery
from tests.core.webhooks.fixtures import all_finished, deliveries, new_patient
from tests.standins.webhook_receiver import WebhookReceiver, verify_standard_webhook

pytestmark = pytest.mark.django_db(transaction=True)

Status = WebhookDelivery.Status
Outcome = WebhookAttempt.Outcome


def attempts_of(delivery: WebhookDelivery) -> list[WebhookAttempt]:
    return list(delivery.attempt_log.order_by("number"))


def pending_jobs() -> list[DBTaskResult]:
    return list(DBTaskResult.objects.filter(status="READY"))


def test_a_delivery_is_signed_over_the_exact_bytes_sent(
    labs, subscribe, receiver, run_worker
):
    endpoint = subscribe(labs["north"])
    patient = new_patient(labs["north"])

    run_worker(all_finished)

    [request] = receiver.verified()
    event = WebhookEvent.objects.get()
    assert receiver.problems == []
    assert request.body == event.body.encode()
    assert request.headers["webhook-id"] == event.id == request.payload["id"]
    assert request.headers["content-type"] == "application/json"
    assert request.payload["type"] == "patient.created"
    assert request.payload["data"]["object"]["id"] == patient.pk
    [delivery] = deliveries(endpoint)
    assert (delivery.status, delivery.attempts) == (Status.SUCCEEDED, 1)
    [attempt] = attempts_of(delivery)
    assert (attempt.outcome, attempt.response_status) == (Outcome.SUCCEEDED, 200)
    assert attempt.response_body_excerpt == "ok"


def test_a_server_error_is_retried_with_the_same_id_and_body(
    labs, subscribe, receiver, run_worker
):
    endpoint = subscribe(labs["north"])
    receiver.answer_next(500, "database down")
    new_patient(labs["north"])

    run_worker(all_finished)

    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body
    [delivery] = deliveries(endpoint)
    assert (delivery.status, delivery.attempts) == (Status.SUCCEEDED, 2)
    failed, succeeded = attempts_of(delivery)
    assert (failed.outcome, failed.response_status) == (Outcome.RETRY, 500)
    assert failed.response_body_excerpt == "database down"
    assert succeeded.outcome == Outcome.SUCCEEDED


@pytest.mark.parametrize("status", [400, 401, 404, 422])
def test_a_client_error_is_not_retried(labs, subscribe, receiver, run_worker, status):
    endpoint = subscribe(labs["north"])
    receiver.answer_next(status, "no such patient type")
    new_patient(labs["north"])

    run_worker(all_finished)

    assert len(receiver.requests) == 1
    [delivery] = deliveries(endpoint)
    assert (delivery.status, delivery.attempts) == (Status.FAILED, 1)
    assert delivery.last_error == f"HTTP {status}"
    assert attempts_of(delivery)[0].outcome == Outcome.FAILED
    assert pending_jobs() == []


def test_a_request_timeout_answer_is_retried(labs, subscribe, receiver, run_worker):
    endpoint = subscribe(labs["north"])
    receiver.answer_next(408)
    new_patient(labs["north"])

    run_worker(all_finished)

    [delivery] = deliveries(endpoint)
    assert (delivery.status, delivery.attempts) == (Status.SUCCEEDED, 2)


def test_too_many_requests_waits_as_long_as_retry_after_says(
    labs, subscribe, receiver, run_worker
):
    endpoint = subscribe(labs["north"])
    receiver.answer_next(429, "slow down", headers={"Retry-After": "120"})
    new_patient(labs["north"])
    before = timezone.now()

    run_worker(lambda: receiver.requests, max_tasks=1)

    [delivery] = deliveries(endpoint)
    assert (delivery.status, delivery.attempts) == (Status.PENDING, 1)
    assert delivery.next_attempt_at is not None
    wait = (delivery.next_attempt_at - before).total_seconds()
    assert 119 <= wait <= 125
    [job] = pending_jobs()
    assert abs((job.run_after - delivery.next_attempt_at).total_seconds()) < 0.01
    run_worker(lambda: True, max_tasks=1)  # nothing is due: nothing is sent
    assert len(receiver.requests) == 1


def test_the_answer_kept_is_at_most_a_kilobyte(labs, subscribe, receiver, run_worker):
    endpoint = subscribe(labs["north"])
    receiver.answer_next(503, b"\x00" + "é".encode() * 3000)
    new_patient(labs["north"])

    run_worker(all_finished)

    first = attempts_of(deliveries(endpoint)[0])[0]
    assert len(first.response_body_excerpt.encode()) >= RESPONSE_EXCERPT_BYTES - 3
    assert len(first.response_body_excerpt.encode()) <= RESPONSE_EXCERPT_BYTES
    assert first.response_body_excerpt.startswith("\ufffdéé")  # NUL replaced


def test_a_redirect_is_not_followed(labs, subscribe, receiver, run_worker):
    with WebhookReceiver() as elsewhere:
        endpoint = subscribe(labs["north"])
        receiver.answer_next(302, headers={"Location": elsewhere.url})
        new_patient(labs["north"])

        run_worker(all_finished)

    assert elsewhere.requests == []
    [delivery] = deliveries(endpoint)
    assert (delivery.status, delivery.attempts) == (Status.FAILED, 1)
    assert "redirects are not followed" in delivery.last_error


def test_a_receiver_that_hangs_times_out_and_is_retried(
    labs, subscribe, receiver, run_worker, webhook_settings
):
    webhook_settings.WEBHOOK_TIMEOUT_SECONDS = 1
    endpoint = subscribe(labs["north"])
    receiver.answer_next(200, delay_seconds=5)
    new_patient(labs["north"])

    run_worker(all_finished)

    [delivery] = deliveries(endpoint)
    hung, delivered = attempts_of(delivery)
    assert (hung.outcome, hung.error_class) == (Outcome.RETRY, "TimeoutError")
    assert hung.response_status is None
    assert 900 <= hung.duration_ms < 4000
    assert delivered.outcome == Outcome.SUCCEEDED


def test_nothing_is_lost_while_the_receiver_is_down(
    labs, subscribe, receiver, run_worker
):
    endpoint = subscribe(labs["north"])
    receiver.stop()
    patient = new_patient(labs["north"])

    run_worker(lambda: True, max_tasks=1)  # refused: a retry is scheduled
    receiver.start()  # back, on the same port
    run_worker(all_finished)

    [request] = receiver.verified()
    assert request.payload["data"]["object"]["id"] == patient.pk
    [delivery] = deliveries(endpoint)
    refused, delivered = attempts_of(delivery)
    assert refused.error_class == "ConnectionRefusedError"
    assert delivered.outcome == Outcome.SUCCEEDED


def test_after_the_last_attempt_the_delivery_fails(
    labs, subscribe, receiver, run_worker, webhook_settings
):
    webhook_settings.WEBHOOK_DISABLE_AFTER_FAILURES = 5
    endpoint = subscribe(labs["north"])
    receiver.answer_next(500, times=3)
    new_patient(labs["north"])

    run_worker(all_finished)

    [delivery] = deliveries(endpoint)
    assert (delivery.status, delivery.attempts) == (Status.FAILED, 3)
    assert delivery.last_error == "HTTP 500; gave up after 3 attempt(s)"
    assert [a.outcome for a in attempts_of(delivery)] == [
        Outcome.RETRY,
        Outcome.RETRY,
        Outcome.FAILED,
    ]
    endpoint.refresh_from_db()
    assert (endpoint.consecutive_failures, endpoint.is_active) == (1, True)


def test_an_endpoint_failing_again_and_again_is_disabled_and_the_lab_told(
    labs, subscribe, receiver, run_worker, webhook_settings, slack
):
    webhook_settings.WEBHOOK_MAX_ATTEMPTS = 1
    webhook_settings.WEBHOOK_ALERT_SLACK_CHANNEL = "#lab-alerts"
    endpoint = subscribe(labs["north"])
    receiver.answer_next(500, times=10)
    first = new_patient(labs["north"])
    run_worker(all_finished)
    endpoint.refresh_from_db()
    assert (endpoint.is_active, endpoint.consecutive_failures) == (True, 1)

    first.first_name = "Asha Devi"
    first.save()
    run_worker(lambda: all_finished() and slack.requests)

    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert endpoint.disabled_reason.startswith(
        "Disabled after 2 failed deliveries in a row; last: HTTP 500"
    )
    entry = ActivityLog.objects.filter(
        model_label="core.webhookendpoint", instance_id=str(endpoint.pk)
    ).latest("id")
    assert entry.action == "update"
    assert entry.changes["is_active"] == {"old": True, "new": False}
    assert entry.reason == endpoint.disabled_reason
    assert entry.lab_id == labs["north"].pk
    assert entry.actor_id == "job:webhooks"
    [message] = slack.requests
    text = message.fields["text"]
    assert message.fields["channel"] == "#lab-alerts"
    assert f"Webhook endpoint {endpoint.pk} of lab {labs['north'].pk}" in text
    assert "/hooks" not in text  # the URL's path (often a token) stays out
    assert slack.problems == []

    new_patient(labs["north"], first_name="Later")  # disabled: nothing recorded
    assert WebhookEvent.objects.count() == 2


def test_a_success_ends_the_failure_streak(
    labs, subscribe, receiver, run_worker, webhook_settings
):
    webhook_settings.WEBHOOK_MAX_ATTEMPTS = 1
    endpoint = subscribe(labs["north"])
    receiver.answer_next(500)
    patient = new_patient(labs["north"])
    run_worker(all_finished)

    patient.first_name = "Asha Devi"
    patient.save()
    run_worker(all_finished)

    endpoint.refresh_from_db()
    assert (endpoint.is_active, endpoint.consecutive_failures) == (True, 0)


def test_gone_disables_the_endpoint_at_once(labs, subscribe, receiver, run_worker):
    endpoint = subscribe(labs["north"])
    receiver.answer_next(410, "unsubscribed")
    new_patient(labs["north"])

    run_worker(all_finished)

    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert "410 Gone" in endpoint.disabled_reason
    assert len(receiver.requests) == 1


def test_deliveries_waiting_when_the_endpoint_is_disabled_are_abandoned(
    labs, subscribe, receiver, run_worker
):
    endpoint = subscribe(labs["north"])
    new_patient(labs["north"])
    endpoint.disable("The lab's HIS is being replaced")

    run_worker(all_finished)

    assert receiver.requests == []
    [delivery] = deliveries(endpoint)
    assert delivery.status == Status.ABANDONED
    assert delivery.last_error == "Endpoint disabled: The lab's HIS is being replaced"


def test_the_address_rules_are_checked_again_at_delivery_time(
    labs, subscribe, receiver, run_worker, webhook_settings
):
    endpoint = subscribe(labs["north"])  # allowed when it was saved
    webhook_settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    new_patient(labs["north"])

    run_worker(all_finished)

    assert receiver.requests == []
    [delivery] = deliveries(endpoint)
    assert (delivery.status, delivery.attempts) == (Status.FAILED, 1)
    [attempt] = attempts_of(delivery)
    assert attempt.error_class == "UnsafeWebhookURL"
    assert "127.0.0.1, a loopback address (RFC 1122)" in attempt.error_message


def test_during_a_secret_rotation_either_secret_verifies(
    labs, subscribe, receiver, run_worker, webhook_settings
):
    endpoint = subscribe(labs["north"])
    old_secret = receiver.secrets[0]
    new_secret = endpoint.rotate_secret()
    receiver.secrets[:] = [new_secret, old_secret]
    new_patient(labs["north"])
    run_worker(all_finished)

    [during] = receiver.requests
    assert len(during.signatures) == 2
    assert during.verified_by == 0  # the new secret alone would do
    assert verify_standard_webhook([old_secret], during.headers, during.body) == 0

    endpoint = WebhookEndpoint.objects.get(pk=endpoint.pk)
    endpoint.previous_secret_expires_at = timezone.now() - dt.timedelta(seconds=1)
    endpoint.save(update_fields=["previous_secret_expires_at"])
    receiver.secrets[:] = [new_secret]
    new_patient(labs["north"], first_name="After")
    run_worker(all_finished)

    after = receiver.requests[-1]
    assert len(after.signatures) == 1
    assert after.verified_by == 0
    assert receiver.problems == []


def test_a_job_finding_the_delivery_leased_comes_back_when_the_lease_ends(
    labs, subscribe, receiver
):
    endpoint = subscribe(labs["north"])
    new_patient(labs["north"])
    [delivery] = deliveries(endpoint)
    held_until = timezone.now() + dt.timedelta(seconds=30)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(sending_until=held_until)
    DBTaskResult.objects.all().delete()

    assert attempt_delivery(delivery.pk) == "busy"

    assert receiver.requests == []
    [job] = pending_jobs()
    assert job.args_kwargs["args"] == [delivery.pk]
    assert job.run_after == held_until


def test_a_lease_left_by_a_dead_worker_expires(labs, subscribe, receiver):
    endpoint = subscribe(labs["north"])
    new_patient(labs["north"])
    [delivery] = deliveries(endpoint)
    expired = timezone.now() - dt.timedelta(seconds=1)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(sending_until=expired)

    assert attempt_delivery(delivery.pk) == "succeeded"

    assert len(receiver.verified()) == 1
    delivery.refresh_from_db()
    assert delivery.sending_until is None


def test_an_attempt_that_outlived_its_lease_records_nothing(labs, subscribe, receiver):
    endpoint = subscribe(labs["north"])
    new_patient(labs["north"])
    [delivery] = deliveries(endpoint)
    taken_over = timezone.now() + dt.timedelta(minutes=1)

    def another_worker_takes_over(request: object) -> None:
        # As if this attempt's lease had expired and another attempt claimed
        # the delivery while the receiver was still answering this one.
        WebhookDelivery.objects.filter(pk=delivery.pk).update(sending_until=taken_over)
        connections.close_all()  # this thread's own connection

    receiver.on_request = another_worker_takes_over

    assert attempt_delivery(delivery.pk) == "skipped"

    assert len(receiver.verified()) == 1
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.sending_until) == (0, taken_over)
    assert not delivery.attempt_log.exists()


def test_a_stray_duplicate_job_sends_nothing(labs, subscribe, receiver, run_worker):
    endpoint = subscribe(labs["north"])
    new_patient(labs["north"])
    [delivery] = deliveries(endpoint)
    later = timezone.now() + dt.timedelta(minutes=5)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=later)

    assert attempt_delivery(delivery.pk) == "skipped"
    assert attempt_delivery(delivery.pk + 1000) == "skipped"  # gone altogether
    run_worker(lambda: not pending_jobs())  # its own job, early: skipped too

    assert receiver.requests == []
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.PENDING, 0)


def test_an_endpoint_deleted_meanwhile_takes_its_deliveries_with_it(
    labs, subscribe, receiver, run_worker
):
    endpoint = subscribe(labs["north"])
    new_patient(labs["north"])

    WebhookEndpoint.objects.filter(pk=endpoint.pk).delete_each()
    run_worker(lambda: not pending_jobs())

    assert receiver.requests == []
    assert not WebhookDelivery.objects.exists()
