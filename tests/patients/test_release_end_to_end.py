"""The report release end to end, against real peers: S3 (moto's server),
Redis, a Fusion worker as a separate process, and the Pusher, Slack and
webhook stand-ins (tests/peers.py). `release()` runs here, the worker does
the rest, and the receivers say what arrived.

First, clean releases: each effect arrives once, and the test prints how
long a release takes from commit to the Pusher `report.ready` event. Then
each peer is killed in turn during a release, and the release completes once
it is back, with every effect exactly once as the receivers see it after
deduplication by its id (Pusher by `release_id`, webhooks by `webhook-id`,
Slack by the release id in the text, S3 by key).

PostgreSQL is not killed: it is the test's own database server, shared with
other processes on this machine.
"""

import hashlib
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from django.db.models import F
from django.tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from admin.account.models import Lab
from core.models import ActivityLog
from core.models.webhook import WebhookDelivery, WebhookEndpoint, WebhookEvent
from core.utils.clients import get_client, registry
from patients.actions import release_report, verify_report
from patients.models import Report, ReportRelease
from patients.release import RELEASE_TIME_LIMIT_SECONDS
from tests.core.fusion.processes import WorkerProcess, wait_for
from tests.core.webhooks.fixtures import new_patient
from tests.peers import ReleasePeers, release_peers

pytestmark = pytest.mark.django_db(transaction=True)

#: Releases timed in the clean run (the latency's p50 and max are printed).
CLEAN_RELEASES = 5
#: Generous: conditions usually hold within a few seconds.
WAIT_SECONDS = 30.0
RUN_RELEASE = "patients.release.run_release"
POTASSIUM = {"test": "Potassium", "value": 7.1, "unit": "mmol/L",
             "critical_low": 2.5, "critical_high": 6.5}  # fmt: skip
_RELEASE_IN_TEXT = re.compile(r"\brelease (\d+)\b")


@pytest.fixture
def peers(
    settings: Any,
    tmp_path: Path,
    database_engine: Any,
) -> Iterator[ReleasePeers]:
    """Every peer running, and this process configured as the worker is."""
    with release_peers(tmp_path) as running:
        settings.SERVICES = running.services_setting()
        settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
        settings.WEBHOOK_ALERT_SLACK_CHANNEL = ""  # as WEBHOOK_ENV: no alerts
        registry.reset()
        yield running
        registry.reset()


@pytest.fixture
def endpoint(labs: dict[str, Lab], peers: ReleasePeers) -> WebhookEndpoint:
    """North's subscription to report.released, at the receiver."""
    endpoint, secret = WebhookEndpoint.create(
        labs["north"], peers.receiver.url, ["report.released"]
    )
    peers.receiver.secrets.append(secret)
    return endpoint


# -- the flow ---------------------------------------------------------------


def release_one(lab: Any) -> tuple[ReportRelease, float]:
    """A critical report of a new patient, verified and released in one
    transaction as the admin action does; with `time.monotonic()` at commit."""
    patient = new_patient(lab)
    report = Report(lab=lab, patient=patient, title="Electrolytes", results=[POTASSIUM])
    report.save()
    verify_report(report)
    with transaction.atomic():
        release_report(report)
    committed_at = time.monotonic()
    return ReportRelease.objects.get(report=report), committed_at


def completed(release: ReportRelease) -> bool:
    """The job finished every step and the webhook was delivered."""
    release.refresh_from_db()
    delivered = WebhookDelivery.objects.filter(
        event__event_type="report.released",
        event__object_id=str(release.report_id),
        status=WebhookDelivery.Status.SUCCEEDED,
    ).exists()
    return release.completed_at is not None and delivered


def wait_completed(release: ReportRelease, *workers: WorkerProcess) -> None:
    wait_for(
        lambda: completed(release),
        f"release {release.pk} to complete",
        timeout=WAIT_SECONDS,
        workers=workers,
    )


def job_failed(release: ReportRelease) -> DBTaskResult | None:
    """The release's job, once an attempt has failed and a retry is waiting."""
    for row in DBTaskResult.objects.filter(
        task_path=RUN_RELEASE, status=TaskResultStatus.READY
    ).exclude(exception_class_path=""):
        if row.args_kwargs["args"] == [release.pk]:
            return row
    return None


def wait_failed(release: ReportRelease, error: str, *workers: WorkerProcess) -> None:
    """Wait for a failed attempt, which must have raised `error`."""
    row = wait_for(
        lambda: job_failed(release),
        f"an attempt of release {release.pk} to fail",
        timeout=WAIT_SECONDS,
        workers=workers,
    )
    assert row.exception_class_path.endswith(error), row.exception_class_path


# -- what the receivers saw ---------------------------------------------------


def pusher_release_ids(peers: ReleasePeers) -> list[int]:
    return [e.payload["release_id"] for e in peers.pusher.events
            if e.name == "report.ready"]  # fmt: skip


def slack_release_ids(peers: ReleasePeers) -> list[int]:
    texts = [r.fields.get("text", "") for r in peers.slack.requests
             if r.path.endswith("chat.postMessage")]  # fmt: skip
    return [int(m.group(1)) for t in texts if (m := _RELEASE_IN_TEXT.search(t))]


def webhook_ids(peers: ReleasePeers) -> list[str]:
    return [r.headers["webhook-id"] for r in peers.receiver.verified()]


def assert_each_effect_once(
    peers: ReleasePeers,
    releases: list[ReportRelease],
    *,
    wiped_from_s3: tuple[ReportRelease, ...] = (),
) -> None:
    """Every release's PDF stored (the logged SHA-256 is the stored bytes'),
    its Pusher event, webhook and Slack message received: exactly once after
    deduplication by id (delivery is at least once), and in fact with no
    repeat: no fault here strikes between an effect and its step's mark.
    `wiped_from_s3`: releases stored before moto restarted empty."""
    ids = sorted(r.pk for r in releases)
    events = WebhookEvent.objects.filter(
        event_type="report.released",
        object_id__in=[str(r.report_id) for r in releases],
    )
    assert len(events) == len(releases)  # one event per release, recorded once
    seen: dict[str, Counter[Any]] = {
        "pusher": Counter(pusher_release_ids(peers)),
        "slack": Counter(slack_release_ids(peers)),
        "webhook": Counter(webhook_ids(peers)),
    }
    assert sorted(seen["pusher"]) == ids
    assert sorted(seen["slack"]) == ids
    assert sorted(seen["webhook"]) == sorted(event.id for event in events)
    for release in releases:
        release.refresh_from_db()
        if release in wiped_from_s3:
            continue
        versions = peers.moto.versions(peers.bucket, release.pdf_key)
        assert [v["Key"] for v in versions][:1] == [release.pdf_key]
        stored = peers.moto.admin().get_object(Bucket=peers.bucket, Key=release.pdf_key)
        pdf = stored["Body"].read()
        assert pdf.startswith(b"%PDF")
        assert hashlib.sha256(pdf).hexdigest() == release.pdf_sha256
        logged = ActivityLog.objects.get(
            action="pdf_stored", instance_id=str(release.report_id)
        )
        assert logged.changes["pdf"]["new"]["sha256"] == release.pdf_sha256
        assert len(versions) == 1, f"PDF of release {release.pk} uploaded twice"
    for receiver, counts in seen.items():
        assert set(counts.values()) == {1}, f"{receiver} got a repeat: {counts}"
    assert peers.receiver.problems == []  # every delivery's signature checked out
    assert peers.pusher.problems == [] and peers.slack.problems == []


# -- clean runs ---------------------------------------------------------------


def test_clean_releases_reach_every_peer_once_and_the_latency_is_printed(
    labs: dict[str, Lab],
    peers: ReleasePeers,
    endpoint: WebhookEndpoint,
    capsys: pytest.CaptureFixture[str],
) -> None:
    worker = peers.start_worker()
    releases, latencies_ms = [], []

    # The first release meets a worker still starting (Django, WeasyPrint's
    # fonts): it is reported on its own, and the timed ones follow.
    for _ in range(1 + CLEAN_RELEASES):
        release, committed_at = release_one(labs["north"])
        wait_completed(release, worker)
        releases.append(release)
        [ready] = [e for e in peers.pusher.events if e.name == "report.ready"
                   and e.payload["release_id"] == release.pk]  # fmt: skip
        latencies_ms.append((ready.received_at - committed_at) * 1000)

    assert_each_effect_once(peers, releases)
    cold, timed = latencies_ms[0], latencies_ms[1:]
    with capsys.disabled():
        print(
            f"\nrelease p50 {statistics.median(timed):.0f} ms, "
            f"max {max(timed):.0f} ms (release() -> Pusher report.ready, "
            f"{CLEAN_RELEASES} releases; the first, with the worker starting: "
            f"{cold:.0f} ms)"
        )


# -- one peer down during a release ---------------------------------------------


def s3_down(peers: ReleasePeers, lab: Any, worker: WorkerProcess) -> ReportRelease:
    """S3 down: the first step fails; moto comes back empty, so the bucket
    is made again; the retry stores the PDF."""
    peers.moto.stop()
    release, _ = release_one(lab)
    wait_failed(release, "StorageUnavailable", worker)
    release.refresh_from_db()
    assert release.pdf_stored_at is None
    peers.moto.start()
    peers.moto.create_bucket(peers.bucket)
    return release


def pusher_down(peers: ReleasePeers, lab: Any, worker: WorkerProcess) -> ReportRelease:
    """Pusher down after the PDF is stored: the retry does not store it again."""
    peers.pusher.stop()
    release, _ = release_one(lab)
    wait_failed(release, "PusherUnavailable", worker)
    release.refresh_from_db()
    assert release.pdf_stored_at is not None and release.pusher_sent_at is None
    peers.pusher.start()
    return release


def slack_down(peers: ReleasePeers, lab: Any, worker: WorkerProcess) -> ReportRelease:
    """Slack down, the last step: the retry repeats none of the others."""
    peers.slack.stop()
    release, _ = release_one(lab)
    wait_failed(release, "SlackUnavailable", worker)
    release.refresh_from_db()
    assert release.webhook_sent_at is not None and release.slack_sent_at is None
    peers.slack.start()
    return release


def receiver_down(
    peers: ReleasePeers, lab: Any, worker: WorkerProcess
) -> ReportRelease:
    """The lab's receiver down: the release completes, the delivery is
    retried and arrives once the receiver is back."""
    peers.receiver.stop()
    received_before = len(peers.receiver.requests)
    release, _ = release_one(lab)
    wait_for(
        lambda: WebhookDelivery.objects.filter(
            event__object_id=str(release.report_id), attempts__gte=2
        ).exists(),
        "two refused delivery attempts",
        timeout=WAIT_SECONDS,
        workers=(worker,),
    )
    assert len(peers.receiver.requests) == received_before  # none got through
    peers.receiver.start()
    return release


def redis_down(peers: ReleasePeers, lab: Any, worker: WorkerProcess) -> ReportRelease:
    """Redis down: the cache fails open, so the release goes on without it
    (its calls here fail and are counted) and never waits for it."""
    peers.redis.stop()
    release, _ = release_one(lab)  # its patient's invalidation cannot reach Redis
    assert get_client("cache").stats.errors > 0  # Redis was in use, and is down
    wait_completed(release, worker)
    peers.restart_redis()
    return release


def worker_killed(
    peers: ReleasePeers, lab: Any, worker: WorkerProcess
) -> ReportRelease:
    """The worker SIGKILLed in the middle of the job (the PDF stored, the
    Pusher call in flight): a new worker recovers the job and finishes it.

    Recovery waits for the job's time limit (RELEASE_TIME_LIMIT_SECONDS,
    120 s) plus the grace, since a live worker may still be running it; the
    test moves the attempt's start back by the time limit instead of waiting.
    """
    peers.pusher.answer_next(200, "{}", delay_seconds=WAIT_SECONDS)  # hangs
    requests_before = peers.pusher.request_count
    release, _ = release_one(lab)
    wait_for(
        lambda: peers.pusher.request_count > requests_before,
        "the worker to call Pusher",
        timeout=WAIT_SECONDS,
        workers=(worker,),
    )
    worker.kill()
    [row] = DBTaskResult.objects.filter(
        task_path=RUN_RELEASE, status=TaskResultStatus.RUNNING
    )
    DBTaskResult.objects.filter(pk=row.pk).update(
        started_at=F("started_at") - timedelta(seconds=RELEASE_TIME_LIMIT_SECONDS)
    )
    replacement = peers.start_worker()
    wait_failed(release, "WorkerLost", replacement)  # recovered, retry scheduled
    return release


FAULTS: dict[str, Callable[[ReleasePeers, Any, WorkerProcess], ReportRelease]] = {
    "s3": s3_down,
    "pusher": pusher_down,
    "slack": slack_down,
    "webhook receiver": receiver_down,
    "redis": redis_down,
    "worker": worker_killed,
}


@pytest.mark.parametrize("fault", FAULTS)
def test_a_release_completes_once_the_killed_peer_is_back(
    labs: dict[str, Lab], peers: ReleasePeers, endpoint: WebhookEndpoint, fault: str
) -> None:
    worker = peers.start_worker()
    before, _ = release_one(labs["north"])  # a release with every peer up
    wait_completed(before, worker)

    during = FAULTS[fault](peers, labs["north"], worker)

    wait_completed(during, *peers.workers)
    after, _ = release_one(labs["north"])  # the peers serve the next one too
    wait_completed(after, *peers.workers)
    wiped = (before,) if fault == "s3" else ()
    assert_each_effect_once(peers, [before, during, after], wiped_from_s3=wiped)
