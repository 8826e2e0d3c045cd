"""Runbook "Retry dead letters" (docs/operations.md).

The class of defect: a runbook step that does not work. A job fails every
attempt while its service is down and becomes a dead letter; once the
service is back the documented commands are run in order, and the job must
run to success exactly once more, leaving no pending letter.
"""

import io

import pytest
from django.core.management import call_command
from django.tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from core.models.fusion import FusionDeadLetter
from tests.core.fusion import jobs

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("fusion_dead_letters", *args, stdout=out)
    return out.getvalue()


def test_a_dead_letter_is_listed_retried_and_runs_once_its_service_is_back(
    run_worker, job_file
):
    # Given a job that failed its 4 attempts (it succeeds on the 5th: the
    # service is back by then)
    result = jobs.fail_then_succeed.enqueue(job_file, 4)
    run_worker(until=lambda: FusionDeadLetter.objects.filter(job_id=result.id).exists())
    letter = FusionDeadLetter.objects.get()

    listing = run("list")  # 1
    retried = run("retry", "--all")  # 3
    letter.refresh_from_db()
    run_worker(
        until=lambda: DBTaskResult.objects.filter(
            pk=letter.retried_job_id, status=TaskResultStatus.SUCCESSFUL
        ).exists()
    )
    after = run("list")  # 4

    assert f"{letter.pk}  " in listing
    assert "TimeoutError: the service did not answer in time" in listing
    assert (
        f"dead letter {letter.pk} re-enqueued as job {letter.retried_job_id}" in retried
    )
    assert jobs.lines(job_file) == ["attempt"] * 5
    assert after.strip() == "0 dead letter(s)"
    assert f"[re-run as {letter.retried_job_id}]" in run("list", "--all")
