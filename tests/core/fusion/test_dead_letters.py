"""`manage.py fusion_dead_letters`: an operator lists the jobs that failed for
good and re-runs them once the cause is fixed."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from core.activity_log.models import ActivityLog
from core.models.fusion import FusionDeadLetter
from tests.core.fusion import jobs

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("fusion_dead_letters", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def dead_letter(run_worker, job_file) -> FusionDeadLetter:
    """fail_then_succeed that failed all its 4 attempts (it succeeds on the
    5th, as if the service came back)."""
    result = jobs.fail_then_succeed.enqueue(job_file, 4)
    run_worker(until=lambda: FusionDeadLetter.objects.filter(job_id=result.id).exists())
    return FusionDeadLetter.objects.get()


def test_list_shows_each_dead_letter_with_its_error(dead_letter, job_file):
    output = run("list")

    assert f"{dead_letter.pk}  " in output
    assert "tests.core.fusion.jobs.fail_then_succeed" in output
    assert "after 4 attempt(s): builtins.TimeoutError: the service did not" in output
    assert output.strip().endswith("1 dead letter(s)")


def test_retry_runs_the_job_again_and_marks_the_letter(
    dead_letter, run_worker, job_file
):
    output = run("retry", str(dead_letter.pk))

    dead_letter.refresh_from_db()
    assert dead_letter.retried_at is not None
    assert f"re-enqueued as job {dead_letter.retried_job_id}" in output
    new_job = DBTaskResult.objects.get(pk=dead_letter.retried_job_id)
    run_worker(
        until=lambda: (
            DBTaskResult.objects.get(pk=new_job.pk).status
            == TaskResultStatus.SUCCESSFUL
        )
    )
    assert jobs.lines(job_file) == ["attempt"] * 5
    assert run("list").strip() == "0 dead letter(s)"
    assert "[re-run as" in run("list", "--all")


def test_a_letter_is_re_run_once_unless_forced(dead_letter):
    run("retry", str(dead_letter.pk))

    with pytest.raises(CommandError, match=r"already re-run .* pass force"):
        run("retry", str(dead_letter.pk))
    assert "1 dead letter(s) re-enqueued" in run(
        "retry", str(dead_letter.pk), "--force"
    )


def test_retry_all_re_runs_every_pending_letter(dead_letter):
    output = run("retry", "--all")

    assert output.strip().endswith("1 dead letter(s) re-enqueued")
    assert not FusionDeadLetter.objects.filter(retried_at__isnull=True).exists()


def test_retry_explains_what_is_wrong(dead_letter):
    with pytest.raises(CommandError, match="no dead letter 999"):
        run("retry", "999")
    with pytest.raises(CommandError, match=r"ids .* or --all"):
        run("retry")
    FusionDeadLetter.objects.filter(pk=dead_letter.pk).update(
        task_path="tests.core.fusion.jobs.renamed"
    )
    with pytest.raises(CommandError, match=r"jobs\.renamed is no longer a job"):
        run("retry", "--all")


def entries(letter: FusionDeadLetter) -> list[ActivityLog]:
    return list(
        ActivityLog.objects.filter(
            model_label="core.fusiondeadletter", instance_id=str(letter.pk)
        ).order_by("id")
    )


def test_a_re_run_is_activity_logged_as_the_command(dead_letter):
    run("retry", str(dead_letter.pk))

    dead_letter.refresh_from_db()
    [entry] = entries(dead_letter)
    assert (entry.action, entry.actor_id, entry.actor_kind) == (
        "retry",
        "command:fusion_dead_letters",
        "system",
    )
    assert entry.message.startswith(f"Re-run as job {dead_letter.retried_job_id}: ")


def test_a_discarded_letter_is_kept_logged_and_re_run_only_when_forced(dead_letter):
    output = run("discard", str(dead_letter.pk), "--reason", "the report was deleted")

    assert output.strip() == f"dead letter {dead_letter.pk} discarded"
    assert run("list").strip() == "0 dead letter(s)"
    assert "[discarded " in run("list", "--all")
    [entry] = entries(dead_letter)
    assert (entry.action, entry.reason) == ("discard", "the report was deleted")
    with pytest.raises(CommandError, match=r"was discarded at .* pass force"):
        run("retry", str(dead_letter.pk))
    with pytest.raises(CommandError, match="already discarded; there is nothing"):
        run("discard", str(dead_letter.pk))
    assert "1 dead letter(s) re-enqueued" in run(
        "retry", str(dead_letter.pk), "--force"
    )
    assert [e.action for e in entries(dead_letter)] == ["discard", "retry"]
