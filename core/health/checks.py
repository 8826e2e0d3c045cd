"""The readiness checks of this project, and the report the endpoint serves.

Checks, in the order reported:

- `database`: `SELECT 1` on every database alias.
- one per service in settings.SERVICES (`cache`, `es`, `fusion`, `s3`,
  `slack`, `pusher`, ...): the client's own `check(timeout)`. `docdb` is per
  account: every `DocumentDBConnection` account (up to
  HEALTH_CHECK_DOCDB_MAX_ACCOUNTS) is checked side by side, or the check is
  skipped, with that reason, when there are none.
- `job_backlog`: jobs ready to run and the age of the oldest one, in all
  and per queue (the Fusion engine's queues: django-tasks-db's table or the
  broker engine's outbox); `degraded` when a queue has more than
  HEALTH_CHECK_BACKLOG_MAX_READY_JOBS ready jobs, or its oldest has waited
  over HEALTH_CHECK_BACKLOG_MAX_AGE_SECONDS.
- `activity_log_shipping`: the age of the oldest activity-log entry not yet
  in Elasticsearch; `degraded` past HEALTH_CHECK_SHIPPING_MAX_LAG_SECONDS,
  and while entries are quarantined (with their count).
- `activity_log_reads`: whether this process's activity-log reads are
  answered by Elasticsearch; `degraded` while they fall back to the
  database, with the cause ("es: 401 authentication failed ...").

Only the checks named in HEALTH_CHECK_CRITICAL (by default `database`)
make the report `down` (HTTP 503). The rest are optional: the instance cache
fails open to the database, jobs and log entries wait in the database until
their services are back, so losing them degrades the app without making it
unable to serve.
"""

import datetime as dt
import functools
import time

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections

from core.activity_log.quarantine import quarantined_count
from core.activity_log.shipping import shipping_lag_seconds
from core.health.runner import Check, HealthReport, Probe, Status, run_checks
from core.models.documentdb import DocumentDBConnection
from core.utils.capabilities import Capability
from core.utils.clients import (
    get_client,
    registry,
    stand_in_services,
    unchosen_stand_ins,
)

#: The names of the checks that are not services.
DATABASE = "database"
JOB_BACKLOG = "job_backlog"
ACTIVITY_LOG_SHIPPING = "activity_log_shipping"
ACTIVITY_LOG_READS = "activity_log_reads"
#: The per-account service.
DOCDB = "docdb"
#: The share of the docdb check's time its accounts' checks may take.
ACCOUNTS_SHARE_OF_TIME = 0.8


def readiness_report() -> HealthReport:
    """Run every readiness check within the configured bounds.

    Example: `readiness_report().as_dict()["checks"]["database"]` is
    `{"status": "ok", "critical": True, "latency_ms": 1.1, "detail": "default"}`.
    """
    timeout = _positive_seconds("HEALTH_CHECK_TIMEOUT_SECONDS")
    deadline = _positive_seconds("HEALTH_CHECK_DEADLINE_SECONDS")
    return run_checks(
        readiness_checks(), timeout_seconds=timeout, deadline_seconds=deadline
    )


def readiness_checks() -> list[Check]:
    """The checks of the module docstring, critical as HEALTH_CHECK_CRITICAL
    says. Touches no service: the probes do, when run."""
    probes: dict[str, Probe] = {DATABASE: check_databases}
    for service in registry.known_services():
        if service == DOCDB:
            probes[service] = check_docdb_accounts
        else:
            probes[service] = functools.partial(check_service, service)
    probes[JOB_BACKLOG] = check_job_backlog
    probes[ACTIVITY_LOG_SHIPPING] = check_shipping_lag
    probes[ACTIVITY_LOG_READS] = check_activity_log_reads
    critical = set(settings.HEALTH_CHECK_CRITICAL)
    unknown = sorted(critical - set(probes))
    if unknown:
        raise ImproperlyConfigured(
            f"HEALTH_CHECK_CRITICAL names {', '.join(unknown)}, which are not "
            f"checks; use some of: {', '.join(probes)}."
        )
    return [
        Check(name, probe, critical=name in critical) for name, probe in probes.items()
    ]


def check_databases(timeout: float) -> tuple[Status, str]:
    """`SELECT 1` on every database alias. The database's own connect
    timeout bounds it; the runner stops waiting after `timeout`."""
    aliases = list(connections)
    for alias in aliases:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
    return Status.OK, ", ".join(aliases)


def check_service(service: str, timeout: float) -> tuple[Status, str]:
    """The service client's `check(timeout)`; `down` when it is not ok. A
    stand-in (log-only or local backend) says so in its detail, and is
    `degraded` when production did not choose it (LIS_LOCAL_SERVICES)."""
    health = get_client(service).check(timeout)
    if not health.ok:
        return Status.DOWN, health.detail
    backend = stand_in_services().get(service)
    if backend is None:
        return Status.OK, health.detail
    detail = f"stand-in {backend}: {health.detail}"
    if service in unchosen_stand_ins():
        return Status.DEGRADED, f"{detail} (not chosen in LIS_LOCAL_SERVICES)"
    return Status.OK, detail


def check_docdb_accounts(timeout: float) -> tuple[Status, str]:
    """Each DocumentDB account's client check, side by side.

    Examples of details: "2 accounts reachable", "account 7: down
    (ServerSelectionTimeoutError)", "skipped: no DocumentDBConnection
    accounts are configured".
    """
    started = time.monotonic()
    limit = settings.HEALTH_CHECK_DOCDB_MAX_ACCOUNTS
    accounts = list(
        DocumentDBConnection.objects.order_by("account_id").values_list(
            "account_id", flat=True
        )[: limit + 1]
    )
    if not accounts:
        return Status.OK, "skipped: no DocumentDBConnection accounts are configured"
    checked = accounts[:limit]
    # The accounts get a share of what is left, so their results are in
    # before the runner stops waiting for this check.
    remaining = (timeout - (time.monotonic() - started)) * ACCOUNTS_SHARE_OF_TIME
    report = run_checks(
        [
            Check(f"account {account}", functools.partial(_check_account, account))
            for account in checked
        ],
        timeout_seconds=remaining,
        deadline_seconds=remaining,
    )
    failed = [r for r in report.results if r.status is not Status.OK]
    if failed:
        detail = "; ".join(f"{r.name}: {r.status} ({r.detail})" for r in failed)
        status = Status.DOWN
    else:
        detail = f"{len(checked)} accounts reachable"
        status = Status.OK
    if len(accounts) > limit:
        detail += f"; only the first {limit} accounts were checked"
    return status, detail


def _check_account(account_id: int, timeout: float) -> tuple[Status, str]:
    health = get_client(DOCDB, account_id=account_id).check(timeout)
    return (Status.OK if health.ok else Status.DOWN), health.detail


def check_job_backlog(timeout: float) -> tuple[Status, str]:
    """Jobs ready to run, how long the oldest has waited and the pending dead
    letters, in all and per queue; `degraded` when a queue has more than
    HEALTH_CHECK_BACKLOG_MAX_READY_JOBS ready jobs or its oldest ready job
    has waited over HEALTH_CHECK_BACKLOG_MAX_AGE_SECONDS (no worker is
    taking its jobs, or too few are).

    Example detail: "3 ready (oldest 1.2 s), 0 dead letters; over the
    limits: reports: oldest ready 400.0 s (limit 300 s); by queue: default
    2 ready (oldest 1.2 s), reports 1 ready (oldest 400.0 s)".
    """
    status = get_client("fusion").status()
    stats = status.stats()
    detail = f"{_ready(stats.ready, stats.oldest_ready_age_seconds)}, "
    detail += f"{stats.dead_letters} dead letters"
    over = status.limits_exceeded(
        max_ready=settings.HEALTH_CHECK_BACKLOG_MAX_READY_JOBS,
        max_age_seconds=settings.HEALTH_CHECK_BACKLOG_MAX_AGE_SECONDS,
    )
    if over:
        detail += f"; over the limits: {', '.join(over)}"
    waiting = [q for q in status.queues if q.ready or q.dead_letters]
    if waiting:
        detail += "; by queue: " + ", ".join(
            f"{q.queue} {_ready(q.ready, q.oldest_ready_age_seconds)}"
            + (f", {q.dead_letters} dead letters" if q.dead_letters else "")
            for q in waiting
        )
    return (Status.DEGRADED if over else Status.OK), detail


def _ready(count: int, oldest_seconds: float | None) -> str:
    oldest = "" if oldest_seconds is None else f" (oldest {oldest_seconds:.1f} s)"
    return f"{count} ready{oldest}"


def check_shipping_lag(timeout: float) -> tuple[Status, str]:
    """How long the oldest activity-log entry has waited to reach
    Elasticsearch; `degraded` over HEALTH_CHECK_SHIPPING_MAX_LAG_SECONDS, or
    while entries are quarantined (Elasticsearch refused them for good).
    Without a search server nothing is shipped, and nothing can lag."""
    if not get_client("es").can(Capability.SEARCH_SERVER):
        return Status.OK, "not shipped: the database is the activity log's store"
    lag = shipping_lag_seconds()
    status, detail = Status.OK, "every entry shipped"
    if lag is not None:
        detail = f"oldest unshipped entry {lag:.1f} s old"
        limit = settings.HEALTH_CHECK_SHIPPING_MAX_LAG_SECONDS
        if lag > limit:
            status, detail = Status.DEGRADED, f"{detail}; over {limit} s"
    # Quarantined entries are safe in the database but not in Elasticsearch
    # until someone fixes the cause and retries: a warning, not an outage.
    quarantined = quarantined_count()
    if quarantined:
        status = Status.DEGRADED
        detail += (
            f"; {quarantined} quarantined (refused by Elasticsearch: manage.py "
            "quarantined_activity_logs)"
        )
    return status, detail


def check_activity_log_reads(timeout: float) -> tuple[Status, str]:
    """Whether activity-log reads (History pages) are answered by
    Elasticsearch; `degraded` while they fall back to the database, with
    the cause (an expired key, a missing privilege, the cluster down). The
    pages are still right: the database holds every entry."""
    store = get_client("es")
    if not store.can(Capability.SEARCH_SERVER):
        return Status.OK, "read from the database: no search server"
    fallback = store.read_status.fallback
    if fallback is None:
        return Status.OK, "read from Elasticsearch"
    since = fallback.since.astimezone(dt.UTC)
    return Status.DEGRADED, (
        f"read from the database since {since:%Y-%m-%d %H:%M:%S}Z "
        f"({fallback.count} reads): es: {fallback.cause}"
    )


def _positive_seconds(name: str) -> float:
    value = getattr(settings, name)
    if not isinstance(value, int | float) or value <= 0:
        raise ImproperlyConfigured(
            f"{name}={value!r} must be a positive number of seconds."
        )
    return float(value)
