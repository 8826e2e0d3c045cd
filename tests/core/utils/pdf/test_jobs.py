"""The background PDF job: what it is given, that running it again stores
and announces nothing twice, and what survives outages: S3 down (the
worker retries and nothing is lost, on moto's real S3 server) and Pusher
down (the PDF is stored; the retry only announces it)."""

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from core.pdf_jobs import QueuedPdf, enqueue_pdf_batch, render_pdf_batch
from core.utils.pdf.keys import new_job_id, request_key
from core.utils.pdf.registry import ReportRequest, register_report, unregister_report
from core.utils.pusher.exceptions import PusherUnavailable
from tests.core.utils.aws.conftest import MotoServer
from tests.pdf_fixtures import (
    Labs,
    page_texts,
    pusher_down,
    pusher_up,
    s3_down,
    stored_keys,
    use_s3,
)
from tests.standins.pusher import PusherStandIn

pytestmark = pytest.mark.django_db


def summary_of(name: str) -> ReportRequest:
    return ReportRequest.from_json(
        {"report": "patients.summary", "context": {"patient": {"name": name}}}
    )


def job_args(queued: QueuedPdf) -> list[Any]:
    return DBTaskResult.objects.get(pk=queued.job).args_kwargs["args"]


def test_the_job_is_given_ids_only_and_the_reports_wait_in_storage(
    labs: Labs, local_storage: Any
) -> None:
    lab_id = labs["north"].pk

    queued = enqueue_pdf_batch(lab_id, [summary_of("Asha Rao")])

    [arg_lab, job_id] = job_args(queued)
    assert arg_lab == lab_id
    assert queued.key == f"labs/{lab_id}/reports/{job_id}.pdf"
    assert "Asha Rao" not in str(DBTaskResult.objects.get(pk=queued.job).args_kwargs)
    assert b"Asha Rao" in local_storage.download(request_key(lab_id, job_id))


def test_an_empty_batch_is_refused(labs: Labs, local_storage: Any) -> None:
    with pytest.raises(ValueError, match="at least one report"):
        enqueue_pdf_batch(labs["north"].pk, [])


def test_running_the_job_twice_stores_one_pdf_and_announces_it_once(
    labs: Labs, local_storage: Any, pusher: PusherStandIn
) -> None:
    lab_id = labs["north"].pk
    queued = enqueue_pdf_batch(lab_id, [summary_of("Asha"), summary_of("Ravi")])

    first = render_pdf_batch.call(*job_args(queued))
    stored = local_storage.path_for(queued.key).stat()
    second = render_pdf_batch.call(*job_args(queued))

    assert first == {"status": "ready", "key": queued.key}
    assert second == {"status": "done-before", "key": queued.key}
    assert local_storage.path_for(queued.key).stat().st_ino == stored.st_ino
    assert stored_keys(local_storage, lab_id, "reports") == [queued.key]
    assert stored_keys(local_storage, lab_id, "pdf-requests") == []
    pages = page_texts(local_storage.download(queued.key))
    assert "Asha" in pages[0] and "Ravi" in pages[1]
    [event] = pusher.events
    assert (event.name, event.channels) == ("pdf.ready", [f"private-lab-{lab_id}"])
    assert event.payload["url"].startswith(f"/core/files/{queued.key}?expires=")


def test_pusher_down_leaves_the_pdf_stored_and_the_retry_only_announces_it(
    labs: Labs, local_storage: Any, pusher: PusherStandIn, settings: Any
) -> None:
    lab_id = labs["north"].pk
    queued = enqueue_pdf_batch(lab_id, [summary_of("Asha")])
    pusher_down(settings, pusher)

    with pytest.raises(PusherUnavailable):
        render_pdf_batch.call(*job_args(queued))

    # the PDF is stored anyway, and the request kept for the retry
    stored = local_storage.path_for(queued.key).stat()
    assert stored_keys(local_storage, lab_id, "pdf-requests") != []
    assert pusher.events == []

    pusher_up(settings, pusher)
    assert render_pdf_batch.call(*job_args(queued))["status"] == "ready"

    assert local_storage.path_for(queued.key).stat().st_ino == stored.st_ino
    assert [event.name for event in pusher.events] == ["pdf.ready"]
    job_id = job_args(queued)[1]
    assert pusher.events[0].payload["event_id"] == f"pdf-{job_id}.pdf.ready"
    assert stored_keys(local_storage, lab_id, "pdf-requests") == []


def test_pusher_refusing_the_event_is_logged_not_retried(
    labs: Labs,
    local_storage: Any,
    pusher: PusherStandIn,
    caplog: pytest.LogCaptureFixture,
) -> None:
    queued = enqueue_pdf_batch(labs["north"].pk, [summary_of("Asha")])
    pusher.answer_next(403, '{"error": "over quota"}')

    with caplog.at_level(logging.ERROR, logger="core.pdf_jobs"):
        outcome = render_pdf_batch.call(*job_args(queued))

    assert outcome["status"] == "ready"
    assert local_storage.exists(queued.key)
    assert "PDF event pdf.ready for lab" in caplog.text
    assert "HTTP 403" in caplog.text


def test_a_batch_that_cannot_be_rendered_is_announced_as_failed_once(
    labs: Labs, local_storage: Any, pusher: PusherStandIn, settings: Any
) -> None:
    lab_id = labs["north"].pk
    queued = enqueue_pdf_batch(lab_id, [summary_of("Asha")])
    settings.PDF_MAX_HTML_BYTES = 500

    outcome = render_pdf_batch.call(*job_args(queued))
    again = render_pdf_batch.call(*job_args(queued))

    assert outcome["status"] == "failed"
    assert "PDF_MAX_HTML_BYTES" in outcome["error"]
    assert again["status"] == "done-before"
    [event] = pusher.events
    assert event.name == "pdf.failed"
    job_id = job_args(queued)[1]
    assert event.payload == {
        "event_id": f"pdf-{job_id}.pdf.failed",  # stable: the job's own id
        "key": queued.key,
        "error": outcome["error"],
    }
    assert stored_keys(local_storage, lab_id, "reports") == []
    assert stored_keys(local_storage, lab_id, "pdf-requests") == []


@pytest.fixture
def withdrawn_report() -> Iterator[None]:
    register_report("tests.withdrawn", "patients/reports/summary.html")
    yield
    unregister_report("tests.withdrawn")


def test_a_report_withdrawn_after_queueing_fails_the_batch(
    labs: Labs, local_storage: Any, pusher: PusherStandIn, withdrawn_report: None
) -> None:
    request = ReportRequest.from_json({"report": "tests.withdrawn"})
    queued = enqueue_pdf_batch(labs["north"].pk, [request])
    unregister_report("tests.withdrawn")

    outcome = render_pdf_batch.call(*job_args(queued))

    assert outcome["status"] == "failed"
    assert "no report named 'tests.withdrawn'" in outcome["error"]
    assert [event.name for event in pusher.events] == ["pdf.failed"]


def test_a_job_with_neither_request_nor_pdf_does_nothing(
    labs: Labs, local_storage: Any, pusher: PusherStandIn
) -> None:
    outcome = render_pdf_batch.call(labs["north"].pk, new_job_id())

    assert outcome["status"] == "done-before"
    assert pusher.events == []


def test_a_job_id_not_made_here_is_refused(labs: Labs, local_storage: Any) -> None:
    with pytest.raises(ValueError, match="32 lower-case hex digits"):
        render_pdf_batch.call(labs["north"].pk, "../../etc")


@pytest.mark.django_db(transaction=True)
def test_s3_down_the_worker_retries_and_nothing_is_lost(
    labs: Labs,
    settings: Any,
    pdf_moto_server: MotoServer,
    s3_bucket: str,
    pusher: PusherStandIn,
    worker: Callable[..., None],
) -> None:
    # given a batch queued while S3 was up
    use_s3(settings, s3_bucket, pdf_moto_server.url)
    lab_id = labs["north"].pk
    queued = enqueue_pdf_batch(lab_id, [summary_of("Asha")])
    bucket = pdf_moto_server.admin()

    # when S3 goes down before the worker runs it
    s3_down(settings, s3_bucket)
    worker(until=None, max_tasks=1)

    # then the attempt failed, a retry is scheduled, and the request is kept
    row = DBTaskResult.objects.get(pk=queued.job)
    assert row.status == TaskResultStatus.READY
    assert row.exception_class_path == "core.utils.aws.exceptions.StorageUnavailable"
    keys = [o["Key"] for o in bucket.list_objects_v2(Bucket=s3_bucket)["Contents"]]
    assert keys == [request_key(lab_id, job_args(queued)[1])]
    assert pusher.events == []

    # when S3 is back, the retry makes the PDF
    use_s3(settings, s3_bucket, pdf_moto_server.url)
    worker(until=lambda: pusher.events)

    row.refresh_from_db()
    assert row.status == TaskResultStatus.SUCCESSFUL
    pdf = bucket.get_object(Bucket=s3_bucket, Key=queued.key)["Body"].read()
    assert "Asha" in page_texts(pdf)[0]
    keys = [o["Key"] for o in bucket.list_objects_v2(Bucket=s3_bucket)["Contents"]]
    assert keys == [queued.key]
    [event] = pusher.events
    assert event.payload["key"] == queued.key
    assert "X-Amz-Signature=" in event.payload["url"]
