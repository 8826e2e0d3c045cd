"""`get_client("fusion").status()`: jobs by state and queue, each queue's
oldest ready job and dead letters, on both engines; and the readiness
limits each queue is held to."""

import dataclasses

import pytest

from core.fusion.dead_letters import discard_dead_letter
from core.utils.clients import get_client
from core.utils.fusion.queue_status import QueueStatus
from tests.core.fusion.queue_mix import EXPECTED, fill_queues

#: In the test's transaction: no worker or second connection reads the jobs
#: (the broker engine's jobs stay unpublished, as its relay would find them).
in_database = pytest.mark.django_db


def counts(queue: QueueStatus) -> dict[str, int | None]:
    return {
        name: value
        for name, value in dataclasses.asdict(queue).items()
        if name not in ("queue", "oldest_ready_age_seconds")
    }


@pytest.fixture(params=["database_engine", "celery_engine"])
def engine(request: pytest.FixtureRequest) -> str:
    """Each engine in turn."""
    request.getfixturevalue(request.param)
    return str(request.param)


@in_database
def test_jobs_are_counted_by_state_and_queue(engine, job_file):
    fill_queues(job_file)

    status = get_client("fusion").status(include_finished=True)

    assert status.engine == ("database" if engine == "database_engine" else "celery")
    assert [q.queue for q in status.queues] == ["default", "held", "spare"]
    assert {q.queue: counts(q) for q in status.queues} == EXPECTED
    ages = {q.queue: q.oldest_ready_age_seconds for q in status.queues}
    assert ages["default"] is not None and ages["default"] >= 0
    assert ages["held"] is not None and ages["spare"] is None
    assert status.oldest_ready_age_seconds == max(ages["default"], ages["held"])


@in_database
def test_the_engine_stats_are_the_totals(engine, job_file):
    fill_queues(job_file)

    stats = get_client("fusion").stats()

    assert (stats.ready, stats.scheduled, stats.running, stats.dead_letters) == (
        3,
        1,
        1,
        1,
    )


@in_database
def test_finished_jobs_are_counted_only_when_asked(database_engine, job_file):
    fill_queues(job_file)

    status = get_client("fusion").status()

    assert not status.finished_counted
    spare = status.queues[-1]
    assert (spare.successful, spare.failed) == (None, None)
    assert "successful" not in status.as_dict()["totals"]


@in_database
def test_a_discarded_letter_is_no_longer_counted(database_engine, job_file):
    mix = fill_queues(job_file)

    discard_dead_letter(mix.letter.pk, reason="the report was deleted")

    assert get_client("fusion").stats().dead_letters == 0


@in_database
def test_a_configured_queue_without_jobs_is_listed_with_zeros(database_engine):
    status = get_client("fusion").status()

    assert [q.queue for q in status.queues] == ["default", "held", "spare"]
    assert all(q.ready == q.running == q.dead_letters == 0 for q in status.queues)
    assert status.oldest_ready_age_seconds is None


@pytest.mark.parametrize(
    ("max_ready", "max_age", "expected"),
    [
        (2, 10.0, []),  # at the limits: within them
        (1, 10.0, ["default: 2 ready (limit 1)"]),
        (2, 9.9, ["default: oldest ready 10.0 s (limit 9.9 s)"]),
    ],
)
def test_a_queue_is_past_a_limit_only_when_strictly_over_it(
    max_ready, max_age, expected
):
    queue = QueueStatus("default", ready=2, oldest_ready_age_seconds=10.0)

    assert queue.limits_exceeded(max_ready=max_ready, max_age_seconds=max_age) == (
        expected
    )
