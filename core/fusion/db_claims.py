"""How a database worker takes jobs: batch claims, leases, one commit per job.

A worker claims up to `claim_batch_size` due rows in one transaction
(`SELECT ... FOR UPDATE SKIP LOCKED`: two workers never get the same row):

- the first is *started*: RUNNING, `started_at` now, the worker's id
  appended to `worker_ids` (the attempt is counted);
- the others are *leased*: they stay READY, with `run_after` moved to now
  plus `LEASE_SECONDS`, so no other worker takes them meanwhile. The worker
  starts each in turn with one UPDATE guarded by that lease (which puts
  their own `run_after` back). A lease that lapses (the worker died, was
  stopped, or its current job ran long) makes the row due again for any
  worker: no recovery round, no attempt charged, nothing run twice.

`Claimer.advance()` does what lies between two jobs: record the outcome of
the job just run and start the next one, from the leased rows or by
claiming a new batch. On PostgreSQL each is one statement
(db_claims_pg.py): the common case, a success then a leased row, is one
round trip and one commit for both. Elsewhere (SQLite) both go in one
transaction. `started_at` is when the job really started, so time limits,
recovery and the enqueue-to-start latency it shows are unchanged.
"""

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import OperationalError, connections, router
from django.db.models import Q
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult, DBTaskResultQuerySet
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

from core.fusion.db_backend import show_outcome
from core.fusion.db_claims_pg import claim_batch, succeed_and_start
from core.fusion.execution import Outcome

#: How long a claimed but not yet started row stays reserved to its worker.
#: Long enough for a batch of quick jobs; short, so that behind one slow job
#: the rest of a batch soon goes back to the other workers.
LEASE_SECONDS = 2.0
#: Pause between tries when SQLite reports the database locked.
LOCKED_RETRY_SECONDS = 0.02

RecordOutcome = Callable[[DBTaskResult, Outcome], bool]


@dataclass
class Leased:
    """A row this worker reserved: `lease_until` is the `run_after` written
    at the claim, `run_after` the row's own (put back when it starts)."""

    row: DBTaskResult
    lease_until: datetime
    run_after: datetime


@dataclass
class Claimer:
    """One worker's claims on the rows of backend `alias` in `queue_names`
    (`["*"]`: every queue); see the module docstring."""

    alias: str
    worker_id: str
    queue_names: list[str]
    batch_size: int
    record_outcome: RecordOutcome
    leased: deque[Leased] = field(default_factory=deque)

    def ready(self) -> DBTaskResultQuerySet:
        """Due READY rows of this worker's backend and queues, in order."""
        rows = DBTaskResult.objects.ready().filter(backend_name=self.alias)
        if "*" not in self.queue_names:
            rows = rows.filter(queue_name__in=self.queue_names)
        return rows

    def advance(
        self, finished: tuple[DBTaskResult, Outcome] | None, *, start: bool = True
    ) -> tuple[bool | None, DBTaskResult | None]:
        """Record `finished` (the row just run and its outcome) and, unless
        `start` is False, start the next job. Returns (whether the outcome
        was recorded, None without one; the started row, or None when no job
        is due). On PostgreSQL each step is one statement (db_claims_pg.py);
        elsewhere both go in one transaction, SQLite's "database is locked"
        retried."""
        if connections[self._db].vendor != "postgresql":
            return self._advance_in_transaction(finished, start)
        if start and finished is not None and finished[1].succeeded and self.leased:
            return self._succeed_and_start_leased(*finished)
        recorded = self.record_outcome(*finished) if finished is not None else None
        return recorded, self._start_next() if start else None

    def _advance_in_transaction(
        self, finished: tuple[DBTaskResult, Outcome] | None, start: bool
    ) -> tuple[bool | None, DBTaskResult | None]:
        while True:
            try:
                with exclusive_transaction(self._db):
                    recorded = (
                        self.record_outcome(*finished) if finished is not None else None
                    )
                    return recorded, self._start_next() if start else None
            except OperationalError as exc:
                if not is_locked_database_exception(exc):
                    raise
                time.sleep(LOCKED_RETRY_SECONDS)

    @property
    def _db(self) -> str:
        return router.db_for_write(DBTaskResult)

    def _succeed_and_start_leased(
        self, row: DBTaskResult, outcome: Outcome
    ) -> tuple[bool, DBTaskResult | None]:
        """PostgreSQL: record `row`'s success (guarded like `record_outcome`)
        and start the first leased row, in one statement."""
        leased = self.leased.popleft()
        now = timezone.now()
        worker_ids = [*leased.row.worker_ids, self.worker_id]
        finished, started = succeed_and_start(
            self._db,
            finished=row,
            return_value=outcome.return_value,
            leased=leased.row,
            lease_until=leased.lease_until,
            run_after=leased.run_after,
            worker_ids=worker_ids,
            now=now,
        )
        if finished:
            show_outcome(row, outcome, now)
        if not started:  # the lease lapsed: start the next one, or claim
            return finished, self._start_next()
        next_row = leased.row
        next_row.status, next_row.started_at = TaskResultStatus.RUNNING, now
        next_row.worker_ids, next_row.run_after = worker_ids, leased.run_after
        return finished, next_row

    def _start_next(self) -> DBTaskResult | None:
        while self.leased:
            row = self._start_leased(self.leased.popleft())
            if row is not None:
                return row
        return self._claim_batch()

    def _start_leased(self, leased: Leased) -> DBTaskResult | None:
        row, now = leased.row, timezone.now()
        worker_ids = [*row.worker_ids, self.worker_id]
        started = DBTaskResult.objects.filter(
            pk=row.pk, status=TaskResultStatus.READY, run_after=leased.lease_until
        ).update(
            status=TaskResultStatus.RUNNING,
            started_at=now,
            worker_ids=worker_ids,
            run_after=leased.run_after,
        )
        if started != 1:
            return None  # the lease lapsed and another worker took it
        row.status, row.started_at, row.worker_ids = (
            TaskResultStatus.RUNNING,
            now,
            worker_ids,
        )
        row.run_after = leased.run_after
        return row

    def _claim_batch(self) -> DBTaskResult | None:
        if connections[self._db].vendor == "postgresql":
            return self._claim_batch_in_one_statement()
        rows = list(self.ready().select_for_update(skip_locked=True)[: self.batch_size])
        if not rows:
            return None
        now = timezone.now()
        first, rest = rows[0], rows[1:]
        worker_ids = [*first.worker_ids, self.worker_id]
        DBTaskResult.objects.filter(pk=first.pk).update(
            status=TaskResultStatus.RUNNING, started_at=now, worker_ids=worker_ids
        )
        first.status, first.started_at, first.worker_ids = (
            TaskResultStatus.RUNNING,
            now,
            worker_ids,
        )
        if rest:
            lease_until = now + timedelta(seconds=LEASE_SECONDS)
            DBTaskResult.objects.filter(pk__in=[row.pk for row in rest]).update(
                run_after=lease_until
            )
            self.leased.extend(Leased(row, lease_until, row.run_after) for row in rest)
        return first

    def _claim_batch_in_one_statement(self) -> DBTaskResult | None:
        now = timezone.now()
        lease_until = now + timedelta(seconds=LEASE_SECONDS)
        claimed = claim_batch(
            self._db,
            alias=self.alias,
            queue_names=self.queue_names,
            limit=self.batch_size,
            worker_id=self.worker_id,
            now=now,
            lease_until=lease_until,
        )
        if not claimed:
            return None
        (first, _), rest = claimed[0], claimed[1:]
        for row, run_after in rest:
            row.run_after = run_after  # as it was: the lease is in `Leased`
            self.leased.append(Leased(row, lease_until, run_after))
        return first

    def release(self) -> int:
        """Give the leased rows back (a worker stopping); returns how many.
        Rows whose lease lapsed meanwhile are left alone."""
        if not self.leased:
            return 0
        guard = Q()
        for leased in self.leased:
            guard |= Q(pk=leased.row.pk, run_after=leased.lease_until)
        # Each row gets its own run_after back: one UPDATE per distinct value
        # (usually one: "no run_after").
        by_run_after: dict[datetime, list[Leased]] = {}
        for leased in self.leased:
            by_run_after.setdefault(leased.run_after, []).append(leased)
        released = 0
        with exclusive_transaction(self._db):
            for run_after, group in by_run_after.items():
                released += DBTaskResult.objects.filter(
                    guard,
                    status=TaskResultStatus.READY,
                    pk__in=[leased.row.pk for leased in group],
                ).update(run_after=run_after)
        self.leased.clear()
        return released
