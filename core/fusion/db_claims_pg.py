"""PostgreSQL's one-statement forms of `db_claims.Claimer`'s two hot steps.

Each is one autocommit statement, so one round trip and one commit, where
the portable ORM form takes a transaction of four or five round trips:

- `claim_batch`: lock up to n due rows (`FOR UPDATE SKIP LOCKED`), start
  the first and lease the rest, returning them in claim order;
- `succeed_and_start`: record the success of the job just run (guarded by
  its attempt's token, `started_at` and `worker_ids`) and start a leased
  row, both guarded exactly as the ORM forms are.

The writes are the same as the ORM forms' (tests run both).
"""

from datetime import datetime
from typing import Any

from django.db import connections
from django.tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult, get_date_max
from psycopg.types.json import Jsonb

_CLAIM = """
WITH locked AS (
    SELECT id, priority, run_after, enqueued_at FROM {table}
    WHERE status = %(ready)s AND backend_name = %(alias)s {queues}
        AND (run_after = %(no_run_after)s OR run_after <= %(now)s)
    ORDER BY priority DESC, run_after, enqueued_at
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
), picked AS (
    SELECT id, run_after AS own_run_after,
        row_number() OVER (ORDER BY priority DESC, run_after, enqueued_at, id)
            AS claim_rank
    FROM locked
)
UPDATE {table} AS job SET
    status = CASE WHEN claim_rank = 1 THEN %(running)s ELSE job.status END,
    started_at = CASE WHEN claim_rank = 1 THEN %(now)s ELSE job.started_at END,
    worker_ids = CASE WHEN claim_rank = 1
        THEN job.worker_ids || jsonb_build_array(%(worker_id)s::text)
        ELSE job.worker_ids END,
    run_after = CASE WHEN claim_rank = 1 THEN job.run_after ELSE %(lease_until)s END
FROM picked WHERE job.id = picked.id
RETURNING picked.claim_rank, picked.own_run_after, job.*
"""

_SUCCEED_AND_START = """
WITH finished AS (
    UPDATE {table} SET status = %s, finished_at = %s, return_value = %s,
        exception_class_path = '', traceback = ''
    WHERE id = %s AND status = %s AND started_at = %s AND worker_ids = %s
    RETURNING 1
), started AS (
    UPDATE {table} SET status = %s, started_at = %s, worker_ids = %s, run_after = %s
    WHERE id = %s AND status = %s AND run_after = %s
    RETURNING 1
)
SELECT (SELECT count(*) FROM finished), (SELECT count(*) FROM started)
"""


def _table(using: str) -> str:
    return connections[using].ops.quote_name(DBTaskResult._meta.db_table)


def claim_batch(
    using: str,
    *,
    alias: str,
    queue_names: list[str],
    limit: int,
    worker_id: str,
    now: datetime,
    lease_until: datetime,
) -> list[tuple[DBTaskResult, datetime]]:
    """Claim up to `limit` due rows: `[(row, its own run_after), ...]` in
    claim order; the first is started (as of `now`), the rest leased until
    `lease_until` (their rows show the lease as `run_after`)."""
    every_queue = "*" in queue_names
    sql = _CLAIM.format(
        table=_table(using),
        queues="" if every_queue else "AND queue_name = ANY(%(queues)s)",
    )
    params = {
        "ready": TaskResultStatus.READY,
        "running": TaskResultStatus.RUNNING,
        "alias": alias,
        "queues": queue_names,
        "no_run_after": get_date_max(),
        "now": now,
        "limit": limit,
        "worker_id": worker_id,
        "lease_until": lease_until,
    }
    # raw() adds the RETURNING's extra columns as attributes.
    rows = sorted(
        DBTaskResult.objects.using(using).raw(sql, params),
        key=lambda row: getattr(row, "claim_rank"),  # noqa: B009
    )
    return [(row, getattr(row, "own_run_after")) for row in rows]  # noqa: B009


def succeed_and_start(
    using: str,
    *,
    finished: DBTaskResult,
    return_value: Any,
    leased: DBTaskResult,
    lease_until: datetime,
    run_after: datetime,
    worker_ids: list[str],
    now: datetime,
) -> tuple[bool, bool]:
    """Record `finished`'s success (if it is still the attempt that ran) and
    start `leased` (if its lease holds); returns whether each happened."""
    params: list[Any] = [
        TaskResultStatus.SUCCESSFUL, now,
        None if return_value is None else Jsonb(return_value),
        finished.pk, TaskResultStatus.RUNNING, finished.started_at,
        Jsonb(finished.worker_ids),
        TaskResultStatus.RUNNING, now, Jsonb(worker_ids), run_after,
        leased.pk, TaskResultStatus.READY, lease_until,
    ]  # fmt: skip
    with connections[using].cursor() as cursor:
        cursor.execute(_SUCCEED_AND_START.format(table=_table(using)), params)
        done, started = cursor.fetchone()
    return bool(done), bool(started)
