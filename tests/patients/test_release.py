"""The report release pipeline (patients/release.py) with the real clients
against the local stand-ins: the PDF stored with its SHA-256 logged, Pusher,
the signed webhook, Slack for critical values; and a failing step retried
without repeating the ones that succeeded."""

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest

from core.models import ActivityLog
from core.models.webhook import WebhookEvent
from core.utils.clients import get_client, registry
from patients.actions import release_report, verify_report
from patients.models import Patient, Report, ReportRelease
from patients.release import run_release
from tests.standins.pusher import PusherStandIn
from tests.standins.slack import SlackStandIn

pytestmark = pytest.mark.django_db(transaction=True)

HB = {"test": "Haemoglobin", "value": 13.5, "unit": "g/dL", "low": 12, "high": 16,
      "critical_low": 7, "critical_high": 20}  # fmt: skip
CRITICAL_K = {"test": "Potassium", "value": 7.1, "unit": "mmol/L",
              "critical_low": 2.5, "critical_high": 6.5}  # fmt: skip


@pytest.fixture
def peers(settings, tmp_path) -> Iterator[dict[str, Any]]:
    """Local storage, and the Pusher and Slack stand-ins, as the services."""
    with PusherStandIn() as pusher, SlackStandIn() as slack:
        settings.SERVICES = {
            **settings.SERVICES,
            "s3": {
                "BACKEND": "core.utils.aws.client.LocalFileS3Client",
                "OPTIONS": {"base_dir": str(tmp_path / "files")},
            },
            "pusher": {
                "BACKEND": "core.utils.pusher.client.PusherClient",
                "OPTIONS": pusher.client_options(),
            },
            "slack": {
                "BACKEND": "core.utils.slack.client.SlackClient",
                "OPTIONS": {"token": slack.token, "base_url": slack.base_url},
            },
        }
        registry.reset()
        yield {"pusher": pusher, "slack": slack}
        registry.reset()
        assert pusher.problems == [] and slack.problems == []


def released(lab, *results: dict[str, Any]) -> ReportRelease:
    patient = Patient(lab=lab, first_name="Asha", sex="F")
    patient.save()
    report = Report(lab=lab, patient=patient, title="Panel", results=list(results))
    report.save()
    verify_report(report)
    release_report(report)
    return ReportRelease.objects.get(report=report)


def slack_texts(slack: SlackStandIn) -> list[str]:
    return [r.fields["text"] for r in slack.requests if r.path.endswith("postMessage")]


def test_a_release_stores_the_pdf_and_tells_everyone_once(
    labs, peers, subscribe, receiver, deliver
):
    subscribe(labs["north"], ["report.released"])
    release = released(labs["north"], HB, CRITICAL_K)

    assert run_release.call(release.pk) == "released"
    deliver()

    release.refresh_from_db()
    pdf = get_client("s3").download(release.pdf_key)
    assert pdf.startswith(b"%PDF")
    assert release.pdf_sha256 == hashlib.sha256(pdf).hexdigest()
    stored = ActivityLog.objects.get(action="pdf_stored")
    assert stored.changes["pdf"]["new"]["sha256"] == release.pdf_sha256
    (ready,) = peers["pusher"].events
    assert ready.name == "report.ready"
    assert ready.payload["release_id"] == release.pk
    assert ready.payload["event_id"] == f"release-{release.pk}.report.ready"
    (hook,) = receiver.verified()
    assert hook.payload["type"] == "report.released"
    assert hook.payload["data"]["pdf_sha256"] == release.pdf_sha256
    (text,) = slack_texts(peers["slack"])
    assert "Potassium 7.1 mmol/L" in text and f"release {release.pk}" in text
    assert release.completed_at is not None


def test_without_a_critical_value_slack_hears_nothing(labs, peers):
    release = released(labs["north"], HB)

    run_release.call(release.pk)

    assert slack_texts(peers["slack"]) == []
    release.refresh_from_db()
    assert release.slack_sent_at is not None and release.completed_at is not None


def test_a_failed_step_is_retried_without_repeating_those_done(labs, peers):
    release = released(labs["north"], HB, CRITICAL_K)
    peers["pusher"].stop()  # Pusher is down

    with pytest.raises(Exception, match="Pusher"):
        run_release.call(release.pk)
    release.refresh_from_db()
    assert release.pdf_stored_at is not None and release.pusher_sent_at is None
    peers["pusher"].start()
    registry.reset()  # the client follows the restarted stand-in's new port
    _point_pusher_at(peers["pusher"])

    run_release.call(release.pk)
    run_release.call(release.pk)  # a duplicate run changes nothing

    assert ActivityLog.objects.filter(action="pdf_stored").count() == 1
    assert len(peers["pusher"].events) == 1
    assert len(slack_texts(peers["slack"])) == 1
    assert WebhookEvent.objects.filter(event_type="report.released").count() <= 1


def _point_pusher_at(pusher: PusherStandIn) -> None:
    from django.conf import settings

    settings.SERVICES = {
        **settings.SERVICES,
        "pusher": {
            "BACKEND": "core.utils.pusher.client.PusherClient",
            "OPTIONS": pusher.client_options(),
        },
    }
    registry.reset()
