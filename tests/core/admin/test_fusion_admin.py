"""Fusion in the admin: each engine's jobs by state and queue, with their
age, attempts and last error under a summary of the queues; dead letters
re-run or discarded by people allowed to, each act activity-logged."""

from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from admin.account.models import User
from core.activity_log.models import ActivityLog
from core.models.fusion import FusionDeadLetter, FusionJob
from tests.core.fusion.queue_mix import QueueMix, fill_queues

pytestmark = pytest.mark.django_db

JOBS = reverse("admin:django_tasks_database_dbtaskresult_changelist")
BROKER_JOBS = reverse("admin:core_fusionjob_changelist")
LETTERS = reverse("admin:core_fusiondeadletter_changelist")


@pytest.fixture
def root(client: Client) -> User:
    user = User.objects.create_superuser("root", "r@example.com", "pw")
    client.force_login(user)
    return user


def staff(client: Client, *permissions: str) -> User:
    """A signed-in staff user with the dead letters' `permissions`."""
    user = User.objects.create_user("ops", "o@example.com", "pw", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="core", codename__in=permissions
        )
    )
    client.force_login(user)
    return user


@pytest.fixture
def mix(database_engine: Any, job_file: str) -> QueueMix:
    return fill_queues(job_file)


def listed(response: Any, ids: list[Any]) -> set[str]:
    """Which of `ids` the changelist shows."""
    content = response.content.decode()
    return {str(i) for i in ids if str(i) in content}


def act(client: Client, action: str, letter: FusionDeadLetter) -> str:
    response = client.post(
        LETTERS, {"action": action, "_selected_action": [letter.pk]}, follow=True
    )
    assert response.status_code == 200
    return response.content.decode()


def entries(letter: FusionDeadLetter) -> list[ActivityLog]:
    return list(
        ActivityLog.objects.filter(
            model_label="core.fusiondeadletter", instance_id=str(letter.pk)
        ).order_by("id")
    )


# -- jobs ---------------------------------------------------------------------


def test_the_job_list_shows_the_queues_and_each_job(client, root, mix):
    DBTaskResult.objects.filter(pk=mix.failed).update(
        exception_class_path="builtins.TimeoutError",
        traceback="Traceback ...\nTimeoutError: " + "no answer " * 40,
    )

    response = client.get(JOBS)

    content = response.content.decode()
    assert response.status_code == 200
    assert 'Fusion: database engine (backend "default")' in content
    assert '<tr class="fusion-queue" data-queue="spare">' in content
    assert "Within the readiness limits." in content
    all_ids = [*mix.ready, mix.scheduled, mix.running, mix.successful, mix.failed]
    assert listed(response, all_ids) == {str(i) for i in all_ids}
    assert "TimeoutError: no answer no answer" in content
    assert "no answer " * 40 not in content  # the last error is bounded
    for column in ("age", "attempts", "last_error", "state"):
        assert f'class="column-{column}' in content


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("state=ready", "ready"),
        ("state=scheduled", "scheduled"),
        ("state=running", "running"),
        ("state=failed", "failed"),
        ("queue_name=held", "held"),
        ("state=ready&queue_name=default", "ready on default"),
    ],
)
def test_the_job_list_filters_by_state_and_queue(client, root, mix, query, expected):
    ids = {
        "ready": mix.ready,
        "scheduled": [mix.scheduled],
        "running": [mix.running],
        "failed": [mix.failed],
        "held": [mix.ready[2], mix.running],
        "ready on default": mix.ready[:2],
    }[expected]
    everyone = [*mix.ready, mix.scheduled, mix.running, mix.successful, mix.failed]

    response = client.get(f"{JOBS}?{query}")

    assert response.status_code == 200
    assert listed(response, everyone) == {str(i) for i in ids}


def test_a_job_page_is_read_only(client, root, mix):
    page = client.get(
        reverse("admin:django_tasks_database_dbtaskresult_change", args=[mix.failed])
    )
    add = client.get(reverse("admin:django_tasks_database_dbtaskresult_add"))

    assert page.status_code == 200
    assert "builtins.TimeoutError" not in page.content.decode()  # no error yet
    assert 'name="status"' not in page.content.decode()
    assert add.status_code == 403


def test_the_broker_engine_jobs_have_their_page(client, root, celery_engine, job_file):
    mix = fill_queues(job_file)

    broker = client.get(f"{BROKER_JOBS}?state=scheduled")
    database = client.get(JOBS)

    assert 'Fusion: celery engine (backend "default")' in broker.content.decode()
    assert listed(broker, [*mix.ready, mix.scheduled]) == {str(mix.scheduled)}
    assert FusionJob.objects.count() == 7
    assert "The active engine is celery" in database.content.decode()


# -- dead letters ---------------------------------------------------------------


def test_the_dead_letter_list_shows_each_letter_and_its_error(client, root, mix):
    response = client.get(f"{LETTERS}?state=pending")

    content = response.content.decode()
    assert response.status_code == 200
    assert "builtins.TimeoutError: the service did not answer in time" in content
    assert "tests.core.fusion.jobs.record" in content and "pending" in content


def test_retry_re_runs_the_job_and_logs_who_did(client, root, mix):
    message = act(client, "retry_letters", mix.letter)

    letter = FusionDeadLetter.objects.get(pk=mix.letter.pk)
    assert "1 dead letter(s) re-run." in message
    assert DBTaskResult.objects.get(pk=letter.retried_job_id).status == "READY"
    [entry] = entries(letter)
    assert (entry.action, entry.actor_id, entry.actor_name) == (
        "retry",
        str(root.pk),
        "root",
    )
    assert entry.lab_id is None
    assert entry.changes == {
        "retried_job_id": {"old": None, "new": letter.retried_job_id}
    }


def test_a_letter_re_run_before_is_re_run_again_only_by_the_forced_action(
    client, root, mix
):
    act(client, "retry_letters", mix.letter)

    refused = act(client, "retry_letters", mix.letter)
    jobs_after_refusal = DBTaskResult.objects.count()
    forced = act(client, "retry_letters_forced", mix.letter)

    assert "was already re-run" in refused and "0 dead letter(s) re-run." in refused
    assert jobs_after_refusal == 8
    assert "1 dead letter(s) re-run." in forced
    assert DBTaskResult.objects.count() == 9
    assert [e.action for e in entries(mix.letter)] == ["retry", "retry"]
    assert "(forced)" in entries(mix.letter)[1].message


def test_discard_keeps_the_letter_and_logs_it(client, root, mix):
    message = act(client, "discard_letters", mix.letter)
    refused = act(client, "retry_letters", mix.letter)

    letter = FusionDeadLetter.objects.get(pk=mix.letter.pk)
    assert "1 dead letter(s) discarded." in message
    assert letter.discarded_at is not None and letter.retried_at is None
    assert "was discarded at" in refused
    [entry] = entries(letter)
    assert (entry.action, entry.reason, entry.actor_id) == (
        "discard",
        "Discarded in the admin",
        str(root.pk),
    )
    assert "discarded" in client.get(f"{LETTERS}?state=discarded").content.decode()


def test_a_letter_history_shows_its_re_runs_and_discards(client, root, mix):
    act(client, "discard_letters", mix.letter)
    act(client, "retry_letters_forced", mix.letter)

    page = client.get(
        reverse("admin:core_fusiondeadletter_history", args=[mix.letter.pk])
    )

    content = page.content.decode()
    assert page.status_code == 200
    assert content.index(">retry<") < content.index(">discard<")
    assert "root (staff)" in content


# -- who may -------------------------------------------------------------------


def test_viewing_letters_does_not_allow_re_running_or_discarding_them(client, mix):
    staff(client, "view_fusiondeadletter")

    page = client.get(LETTERS)
    act(client, "retry_letters", mix.letter)
    act(client, "discard_letters", mix.letter)

    letter = FusionDeadLetter.objects.get(pk=mix.letter.pk)
    assert page.status_code == 200
    assert "retry_letters" not in page.content.decode()
    assert letter.retried_at is None and letter.discarded_at is None
    assert entries(letter) == []


def test_each_action_takes_its_own_permission(client, mix):
    staff(client, "view_fusiondeadletter", "retry_fusiondeadletter")

    act(client, "discard_letters", mix.letter)
    discarded = FusionDeadLetter.objects.get(pk=mix.letter.pk).discarded_at
    message = act(client, "retry_letters", mix.letter)

    assert discarded is None
    assert "1 dead letter(s) re-run." in message
    assert [e.action for e in entries(mix.letter)] == ["retry"]


def test_people_who_are_not_staff_are_sent_to_sign_in(client, mix):
    user = User.objects.create_user("clerk", "c@example.com", "pw")
    client.force_login(user)

    for url in (JOBS, BROKER_JOBS, LETTERS):
        response = client.get(url)
        assert response.status_code == 302
        assert "/login/" in response["Location"]
