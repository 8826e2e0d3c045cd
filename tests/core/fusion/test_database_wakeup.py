"""LISTEN/NOTIFY wake-ups of the database engine on PostgreSQL: a committed
enqueue wakes a listener, a rolled-back one wakes nobody, and an idle worker
process whose poll would take an hour starts a job as soon as it commits.
(SQLite has no NOTIFY: its workers poll, as the other tests show.)"""

from collections.abc import Iterator

import pytest
from django.db import connection, transaction
from django.tasks import TaskResultStatus
from django.utils import timezone

from core.fusion.wakeup import ListeningWaker, waker_for
from tests.core.fusion import jobs
from tests.core.fusion.processes import WorkerProcess, wait_for, worker_env

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="NOTIFY is PostgreSQL's"
    ),
]

#: Longer than any test runs: a job started before it was due to a poll.
HOUR_SECONDS = 3600.0
#: How long a test waits for a notification that must come (generous: the
#: machine is shared).
WAIT_SECONDS = 10.0
#: How long it waits for one that must not come: PostgreSQL delivers at
#: commit, so one sent would be in the socket well within this.
SILENCE_SECONDS = 1.0


class Rollback(Exception):
    """Raised to roll a test's transaction back."""


@pytest.fixture
def waker(database_engine) -> Iterator[ListeningWaker]:
    """A listener on the default backend's channel, for the default queue."""
    listener = waker_for("default", "default", ["default"])
    assert isinstance(listener, ListeningWaker)
    assert listener.listen()
    yield listener
    listener.close()


def test_a_rolled_back_enqueue_wakes_nobody(waker, job_file):
    with pytest.raises(Rollback), transaction.atomic():
        jobs.record.enqueue(job_file, "rolled back")
        raise Rollback

    assert waker.wait(SILENCE_SECONDS) is False


def test_a_committed_enqueue_wakes_a_listener_once_it_commits(waker, job_file):
    with transaction.atomic():
        jobs.record.enqueue(job_file, "committed")
        # Inside the transaction nothing is delivered yet.
        assert waker.wait(0.2) is False

    assert waker.wait(WAIT_SECONDS) is True
    # One transaction, one wake-up.
    assert waker.wait(0.2) is False


def test_a_job_deferred_to_later_wakes_nobody(waker, job_file):
    later = timezone.now() + timezone.timedelta(hours=1)
    jobs.record.using(run_after=later).enqueue(job_file, "later")

    assert waker.wait(SILENCE_SECONDS) is False


def test_a_job_on_another_queue_does_not_wake_this_queues_worker(waker, job_file):
    jobs.record.using(queue_name="spare").enqueue(job_file, "elsewhere")

    assert waker.wait(SILENCE_SECONDS) is False


def test_a_waker_for_all_queues_wakes_for_any_queue(database_engine, job_file):
    listener = waker_for("default", "default", ["*"])
    assert listener.listen()
    try:
        jobs.record.using(queue_name="spare").enqueue(job_file, "any")
        assert listener.wait(WAIT_SECONDS) is True
    finally:
        listener.close()


def _listening(pid_marker: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND query LIKE %s",
            [f"LISTEN {pid_marker}%"],
        )
        return bool(cursor.fetchone()[0])


def test_an_idle_worker_starts_a_committed_job_without_waiting_for_its_poll(
    database_engine, job_file, tmp_path
):
    env = worker_env("database")
    env["FUSION_POLL_INTERVAL_SECONDS"] = str(HOUR_SECONDS)
    worker = WorkerProcess(
        ["manage.py", "fusion_worker", "--queue-name", "*", "--no-startup-delay"],
        env,
        tmp_path / "worker.log",
    )
    try:
        # Idle: it has claimed nothing and now listens, with an hour to its
        # next poll.
        wait_for(lambda: _listening('"fusion.default"'), "the worker to listen",
                 workers=(worker,))  # fmt: skip
        with pytest.raises(Rollback), transaction.atomic():
            jobs.record.enqueue(job_file, "rolled back")
            raise Rollback
        result = jobs.record.enqueue(job_file, "woken")

        def done() -> bool:
            result.refresh()
            return result.status == TaskResultStatus.SUCCESSFUL

        wait_for(done, "the notified worker to run the job", workers=(worker,))
        assert jobs.lines(job_file) == [f"woken {worker.pid}"]
    finally:
        worker.stop()
