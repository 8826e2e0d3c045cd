"""get_client("fusion") and the settings that choose the engine."""

import io

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import transaction
from django.tasks import task_backends

from admin.account.models import Lab
from config.settings.services import build_tasks, fusion_tasks_setting
from core.fusion.client import FusionClient
from core.models.fusion import FusionDeadLetter
from core.utils.clients import get_client, registry
from core.utils.fusion import FusionConfigurationError
from tests.core.fusion import jobs


@pytest.fixture
def clean_fusion_env(monkeypatch):
    for name in ("FUSION_ENGINE", "FUSION_BROKER_URL", "FUSION_QUEUES"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_with_nothing_set_the_engine_is_the_database(clean_fusion_env):
    tasks = build_tasks()

    assert tasks["default"]["BACKEND"].endswith("db_backend.FusionDatabaseBackend")
    assert tasks["default"]["QUEUES"] == ["default"]


def test_a_broker_url_selects_celery(clean_fusion_env):
    clean_fusion_env.setenv("FUSION_BROKER_URL", "amqp://lis:pw@rabbit:5672//")
    clean_fusion_env.setenv("FUSION_RECOVERY_GRACE_SECONDS", "45")

    tasks = build_tasks()

    assert tasks["default"]["BACKEND"].endswith("broker_backend.FusionCeleryBackend")
    assert tasks["default"]["OPTIONS"]["broker_url"] == "amqp://lis:pw@rabbit:5672//"
    assert tasks["default"]["OPTIONS"]["recovery_grace_seconds"] == 45.0


def test_heartbeats_are_set_from_the_environment(clean_fusion_env):
    clean_fusion_env.setenv("FUSION_HEARTBEAT_SECONDS", "1")
    clean_fusion_env.setenv("FUSION_HEARTBEAT_STALE_SECONDS", "3.5")

    options = build_tasks()["default"]["OPTIONS"]

    assert (options["heartbeat_seconds"], options["heartbeat_stale_seconds"]) == (
        1.0,
        3.5,
    )


def test_bad_engine_settings_say_what_would_be_right(clean_fusion_env, settings):
    clean_fusion_env.setenv("FUSION_ENGINE", "rq")
    with pytest.raises(ImproperlyConfigured, match="use one of: database, celery"):
        build_tasks()
    clean_fusion_env.setenv("FUSION_ENGINE", "database")
    clean_fusion_env.setenv("FUSION_POLL_INTERVAL_SECONDS", "soon")
    with pytest.raises(ImproperlyConfigured, match="FUSION_POLL_INTERVAL_SECONDS"):
        build_tasks()

    settings.TASKS = fusion_tasks_setting(
        "database",
        queues=["default"],
        recovery_grace_seconds=5,
        hard_limit_grace_seconds=10,
    )
    with pytest.raises(FusionConfigurationError, match="must be smaller than"):
        task_backends["default"]  # building it validates


def test_the_claim_batch_size_comes_from_the_environment_and_is_checked(
    clean_fusion_env, settings
):
    clean_fusion_env.setenv("FUSION_CLAIM_BATCH_SIZE", "25")
    assert build_tasks()["default"]["OPTIONS"]["claim_batch_size"] == 25

    settings.TASKS = fusion_tasks_setting(
        "database", queues=["default"], claim_batch_size=0
    )
    with pytest.raises(FusionConfigurationError, match="at least 1; got 0"):
        task_backends["default"]


def test_the_registry_builds_the_fusion_client():
    registry.reset()

    assert isinstance(get_client("fusion"), FusionClient)


def test_enqueue_refuses_what_is_not_a_job():
    with pytest.raises(TypeError, match=r"decorated with core\.utils\.fusion\.job"):
        get_client("fusion").enqueue(jobs.append, "/dev/null", "x")


def test_without_a_fusion_engine_check_says_so(settings):
    settings.TASKS = {
        "default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}
    }
    registry.reset()

    status = get_client("fusion").check()

    assert (status.ok, status.detail) == (
        False,
        "ImmediateBackend: no queue (jobs are not kept, retried or dead-lettered)",
    )
    with pytest.raises(FusionConfigurationError, match="no queue to inspect"):
        get_client("fusion").stats()


@pytest.mark.django_db(transaction=True)
def test_a_save_commits_even_when_its_effect_s_service_is_down(run_worker, job_file):
    # The effect is a POST to a port where nothing listens (Slack is down).
    with transaction.atomic():
        lab = Lab(name="Central")
        lab.save()
        result = get_client("fusion").enqueue(jobs.post_to, "http://127.0.0.1:9/hook")

    run_worker(until=lambda: FusionDeadLetter.objects.exists())

    assert Lab.objects.filter(pk=lab.pk).exists()
    letter = FusionDeadLetter.objects.get()
    assert (letter.job_id, letter.attempts) == (result.id, 2)
    assert letter.error_class == "urllib.error.URLError"


@pytest.mark.django_db
def test_republish_on_the_database_engine_has_nothing_to_publish(database_engine):
    out = io.StringIO()

    call_command("fusion_recover", "--republish", stdout=out)

    assert out.getvalue().startswith("republished 0, recovered 0, relayed 0")
