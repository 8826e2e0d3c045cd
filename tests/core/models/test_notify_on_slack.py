"""BaseModel.notify_on_slack: enqueued with the save, posted by a worker,
retried while Slack is down, never failing the save."""

from typing import Any

import pytest
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from tests.lifecycle.models import Instrument
from tests.standins.slack import SlackStandIn

pytestmark = pytest.mark.django_db(transaction=True)


class AlertingInstrument(Instrument):
    """An instrument that tells the lab's Slack channel when it is saved."""

    class Meta:
        proxy = True
        app_label = "lifecycle_tests"

    def after_save(self, *args: Any, **kwargs: Any) -> None:
        super().after_save(*args, **kwargs)
        self.notify_on_slack("#lab-alerts", f"{self.name} was calibrated")


def posted_texts(slack: SlackStandIn) -> list[str]:
    return [r.fields["text"] for r in slack.requests if r.path.endswith("postMessage")]


def test_the_message_is_posted_by_a_worker_after_the_save_commits(
    database_engine, run_worker, slack
):
    AlertingInstrument(name="Analyser 3", serial="SN-3").save()
    assert posted_texts(slack) == []  # the save did not wait for Slack

    run_worker(lambda: posted_texts(slack))

    assert posted_texts(slack) == ["Analyser 3 was calibrated"]
    assert slack.problems == []


def test_a_rolled_back_save_sends_nothing(database_engine, run_worker, slack):
    with pytest.raises(RuntimeError), transaction.atomic():
        AlertingInstrument(name="Analyser 3", serial="SN-3").save()
        raise RuntimeError("roll back")

    assert not DBTaskResult.objects.exists()


def test_with_slack_down_the_save_succeeds_and_the_message_waits_for_a_retry(
    database_engine, run_worker, slack
):
    slack.stop()  # Slack unreachable

    AlertingInstrument(name="Analyser 3", serial="SN-3").save()
    run_worker(lambda: True, max_tasks=1)  # the first attempt fails

    assert Instrument.objects.count() == 1
    [job] = DBTaskResult.objects.all()
    assert job.status == "READY" and job.run_after is not None  # retried later
