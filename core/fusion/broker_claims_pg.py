"""PostgreSQL's one-statement forms of the broker engine's two hot writes.

A Celery worker spends most of a short job building the ORM's queries: the
portable claim reads the row, then updates it (two statements, each
compiled from querysets), and the success is a third. Here each is one
statement written once, so one round trip and almost no Python:

- `claim_delivered`: start the attempt of a first delivery (the job READY
  and due) and return the row as it now is; its deadline is computed in
  the statement from the limit the row carries (`time_limit_seconds`);
- `record_success`: store a success, guarded by the attempt's token.

The writes and guards are the portable forms' (broker_backend.py); tests
run the same scenarios on both. Anything else (a redelivery, which must
ask whether the job's worker still lives; a row enqueued before it carried
its limit; a failure) takes the portable form.
"""

import uuid
from datetime import datetime
from functools import cache
from typing import Any

from django.db import connections
from django.tasks import TaskResultStatus

from core.models.fusion import FusionJob

_CLAIM = """
UPDATE {table} SET
    status = %(running)s,
    attempts = attempts + 1,
    published_at = COALESCE(published_at, %(now)s),
    started_at = %(now)s,
    deadline_at = %(now)s + time_limit_seconds * interval '1 second',
    worker_id = %(worker_id)s
WHERE id = %(id)s AND backend_name = %(alias)s AND status = %(ready)s
    AND run_after <= %(now)s AND time_limit_seconds IS NOT NULL
RETURNING {columns}
"""

_SUCCEED = """
UPDATE {table} SET
    status = %s, finished_at = %s, return_value = %s,
    error_class = '', error_message = ''
WHERE id = %s AND status = %s AND attempts = %s AND worker_id = %s
"""


def _table(using: str) -> str:
    return connections[using].ops.quote_name(FusionJob._meta.db_table)


#: Every column of the row, in the order RETURNING gives them, and the
#: fields that convert a database value (the JSON ones): a row built from
#: them directly costs a fraction of what raw() spends mapping columns.
_FIELDS = FusionJob._meta.concrete_fields
_CONVERTED = [
    (index, field)
    for index, field in enumerate(_FIELDS)
    if hasattr(field, "from_db_value")
]


@cache
def _claim_sql(using: str) -> str:
    """_CLAIM for database `using`, its names quoted: built once, not per job."""
    quote = connections[using].ops.quote_name
    columns = ", ".join(quote(str(field.column)) for field in _FIELDS)
    return _CLAIM.format(table=_table(using), columns=columns)


def _returned_row(using: str, values: tuple[Any, ...]) -> FusionJob:
    """A FusionJob from RETURNING's values (in _FIELDS order)."""
    converted = list(values)
    connection = connections[using]
    for index, field in _CONVERTED:
        converted[index] = field.from_db_value(converted[index], None, connection)
    return FusionJob.from_db(using, [f.attname for f in _FIELDS], converted)


def claim_delivered(
    using: str, *, job_id: str, alias: str, worker_id: str, now: datetime
) -> FusionJob | None:
    """Start the attempt of job `job_id` if it is READY, due, of backend
    `alias` and carries its time limit: the row as started, else None (not
    a job id at all, taken, finished, not due, or a row without its limit:
    the caller tries the portable form)."""
    try:
        pk = uuid.UUID(job_id)
    except (TypeError, ValueError):
        return None
    params: dict[str, Any] = {
        "running": TaskResultStatus.RUNNING,
        "ready": TaskResultStatus.READY,
        "now": now,
        "worker_id": worker_id[:64],
        "id": pk,
        "alias": alias,
    }
    with connections[using].cursor() as cursor:
        cursor.execute(_claim_sql(using), params)
        values = cursor.fetchone()
    return None if values is None else _returned_row(using, values)


def record_success(
    using: str, *, row: FusionJob, return_value: Any, now: datetime
) -> bool:
    """Store the success of the attempt that claimed `row` (its number and
    worker are the token); False if the row has moved on since."""
    field = FusionJob._meta.get_field("return_value")
    connection = connections[using]
    params = [
        TaskResultStatus.SUCCESSFUL, now,
        field.get_db_prep_save(return_value, connection),
        row.pk, TaskResultStatus.RUNNING, row.attempts, row.worker_id,
    ]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(_SUCCEED.format(table=_table(using)), params)
        return cursor.rowcount == 1
