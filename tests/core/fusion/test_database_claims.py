"""Batch claims of the database engine (core/fusion/db_claims.py): the first
job of a batch starts, the rest are leased; a lease that lapses hands the
job to another worker without running it twice; a stopping worker gives its
leases back; two workers claiming at once never get the same job; and on
PostgreSQL each step between two jobs is one statement."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult, get_date_max

from core.fusion.db_claims import Claimer
from core.fusion.execution import Outcome
from tests.core.fusion import jobs

pytestmark = pytest.mark.django_db(transaction=True)

DONE = Outcome(succeeded=True, return_value=None)


def claimer(engine, name: str, batch_size: int = 5) -> Claimer:
    """A worker's claimer on the default backend, every queue."""
    return Claimer(
        alias=engine.alias,
        worker_id=name,
        queue_names=["*"],
        batch_size=batch_size,
        record_outcome=engine.record_outcome,
    )


def enqueue(job_file: str, count: int) -> list[str]:
    """`count` jobs; their ids, in enqueue order."""
    return [str(jobs.record.enqueue(job_file, str(n)).id) for n in range(count)]


def row(job_id) -> DBTaskResult:
    return DBTaskResult.objects.get(pk=job_id)


def test_a_batch_claim_starts_the_first_job_and_leases_the_rest(
    database_engine, job_file
):
    ids = enqueue(job_file, 3)
    worker = claimer(database_engine, "w1")

    _, first = worker.advance(None)

    assert str(first.pk) == ids[0]
    started = row(ids[0])
    assert started.status == TaskResultStatus.RUNNING
    assert started.worker_ids == ["w1"]
    assert started.started_at == first.started_at
    for job_id in ids[1:]:  # leased: still READY, not due for anyone else
        leased = row(job_id)
        assert leased.status == TaskResultStatus.READY
        assert leased.worker_ids == []
        assert leased.run_after > timezone.now()
    assert not DBTaskResult.objects.ready().exists()


def test_each_leased_job_starts_when_the_previous_one_is_recorded(
    database_engine, job_file
):
    ids = enqueue(job_file, 3)
    worker = claimer(database_engine, "w1")
    _, current = worker.advance(None)
    seen = []

    while current is not None:
        seen.append(str(current.pk))
        recorded, current = worker.advance((current, DONE))
        assert recorded is True

    assert seen == ids
    for job_id in ids:
        done = row(job_id)
        assert done.status == TaskResultStatus.SUCCESSFUL
        assert done.worker_ids == ["w1"]
        assert done.run_after == get_date_max()  # the lease left no trace


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's path")
def test_on_postgresql_a_claim_and_each_next_job_are_one_statement(
    database_engine, job_file, django_assert_num_queries
):
    enqueue(job_file, 3)
    worker = claimer(database_engine, "w1")

    with django_assert_num_queries(1):
        _, first = worker.advance(None)
    with django_assert_num_queries(1):
        _, second = worker.advance((first, DONE))

    assert second is not None
    assert row(first.pk).status == TaskResultStatus.SUCCESSFUL
    assert row(second.pk).status == TaskResultStatus.RUNNING


def test_a_lapsed_lease_goes_to_another_worker_and_runs_once(database_engine, job_file):
    _, leased_id = enqueue(job_file, 2)
    slow = claimer(database_engine, "slow")
    _, first = slow.advance(None)
    # The slow worker's first job outlasts the lease: move the lease into
    # the past, where time would have put it.
    lapsed = timezone.now() - timedelta(seconds=1)
    DBTaskResult.objects.filter(pk=leased_id).update(run_after=lapsed)
    slow.leased[0].lease_until = lapsed

    _, taken = claimer(database_engine, "fast").advance(None)
    recorded, next_for_slow = slow.advance((first, DONE))

    assert str(taken.pk) == leased_id
    assert recorded is True
    assert next_for_slow is None
    assert row(leased_id).worker_ids == ["fast"]
    assert row(leased_id).status == TaskResultStatus.RUNNING


def test_a_stopping_worker_gives_its_leased_jobs_back(database_engine, job_file):
    ids = enqueue(job_file, 4)
    # Two were deferred and are due now: they come first, in run_after order.
    now = timezone.now()
    DBTaskResult.objects.filter(pk=ids[2]).update(run_after=now - timedelta(minutes=2))
    DBTaskResult.objects.filter(pk=ids[3]).update(run_after=now - timedelta(minutes=1))
    worker = claimer(database_engine, "w1")
    _, first = worker.advance(None)

    assert worker.release() == 3

    assert str(first.pk) == ids[2]
    assert not worker.leased
    ready = DBTaskResult.objects.ready().values_list("pk", flat=True)
    assert {str(pk) for pk in ready} == {ids[0], ids[1], ids[3]}
    assert row(ids[0]).run_after == get_date_max()  # each its own run_after
    assert row(ids[3]).run_after == now - timedelta(minutes=1)


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="concurrent claims need row locks"
)
def test_two_workers_claiming_at_once_never_get_the_same_job(database_engine, job_file):
    ids = enqueue(job_file, 60)
    ran: dict[str, list[str]] = {"a": [], "b": []}
    errors: list[BaseException] = []

    def work(name: str) -> None:
        worker = claimer(database_engine, name, batch_size=4)
        try:
            _, current = worker.advance(None)
            while current is not None:
                ran[name].append(str(current.pk))
                _, current = worker.advance((current, DONE))
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=work, args=(name,)) for name in ran]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert not set(ran["a"]) & set(ran["b"])
    assert sorted(ran["a"] + ran["b"]) == sorted(ids)
    assert ran["a"] and ran["b"]  # both took part
    finished = DBTaskResult.objects.filter(status=TaskResultStatus.SUCCESSFUL)
    assert finished.count() == len(ids)
