"""The registry of worker processes (`FusionWorker` rows) and their beats.

Times are the database's (`Now()`), never a worker's own clock: workers on
hosts whose clocks disagree still agree on who is stale.

- `register` / `beat` / `mark_stopped`: a worker's own row;
- `stale_workers` / `mark_lost`: another worker finding it dead; `is_live`
  for queries;
- `record_refused_finish`: a finish refused because its attempt had been
  superseded, counted on the worker's row for operators.
"""

import logging
import os
import socket
from datetime import timedelta
from enum import Enum

from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import Now

from core.models.fusion import FusionWorker

logger = logging.getLogger(__name__)


class Beat(Enum):
    """What a beat found: the worker is alive, or had been presumed dead."""

    ALIVE = "alive"
    WAS_LOST = "was lost"


def register(worker_id: str, backend_name: str) -> None:
    """Create (or revive) `worker_id`'s row, beating now."""
    FusionWorker.objects.update_or_create(
        pk=worker_id[:64],
        defaults={
            "backend_name": backend_name,
            "hostname": socket.gethostname()[:255],
            "pid": os.getpid(),
            "last_beat_at": Now(),
            "lost_at": None,
            "stopped_at": None,
        },
    )


def beat(worker_id: str, backend_name: str) -> Beat:
    """Record that `worker_id` is alive. If another worker had marked it
    lost meanwhile (its beats stopped for too long: it was frozen, or its
    host was), its jobs were given away: say so (WAS_LOST), and register it
    afresh so that the jobs it runs from now on are its own again."""
    alive = FusionWorker.objects.filter(
        pk=worker_id[:64], lost_at__isnull=True, stopped_at__isnull=True
    ).update(last_beat_at=Now())
    if alive:
        return Beat.ALIVE
    lost = FusionWorker.objects.filter(
        pk=worker_id[:64], lost_at__isnull=False
    ).exists()
    register(worker_id, backend_name)
    return Beat.WAS_LOST if lost else Beat.ALIVE


def mark_stopped(worker_id: str) -> None:
    """`worker_id` stops cleanly: nobody needs to recover anything of it."""
    FusionWorker.objects.filter(pk=worker_id[:64], lost_at__isnull=True).update(
        stopped_at=Now()
    )


def stale_workers(backend_name: str, stale_seconds: float) -> list[str]:
    """Ids of live-registered workers of `backend_name` silent for longer
    than `stale_seconds`."""
    return list(
        FusionWorker.objects.filter(
            _silent(stale_seconds), backend_name=backend_name
        ).values_list("pk", flat=True)
    )


def _silent(stale_seconds: float) -> Q:
    """Registered as running, and no beat for `stale_seconds`."""
    return Q(
        lost_at__isnull=True,
        stopped_at__isnull=True,
        last_beat_at__lt=Now() - timedelta(seconds=stale_seconds),
    )


def is_live(worker_id: OuterRef, stale_seconds: float) -> Exists:
    """A filter: the worker `worker_id` names is registered and beat less
    than `stale_seconds` ago (an unregistered id is not live)."""
    return Exists(
        FusionWorker.objects.filter(
            pk=worker_id,
            lost_at__isnull=True,
            stopped_at__isnull=True,
            last_beat_at__gte=Now() - timedelta(seconds=stale_seconds),
        )
    )


def mark_lost(worker_id: str, stale_seconds: float) -> bool:
    """Mark `worker_id` lost if it is still stale (it did not beat, and no
    other worker marked it, since `stale_workers` saw it). Call it in the
    transaction that recovers its jobs: a beat racing this one then either
    came first (nothing is marked) or finds the row lost."""
    marked = FusionWorker.objects.filter(_silent(stale_seconds), pk=worker_id)
    return bool(marked.update(lost_at=Now()))


def record_refused_finish(worker_id: str, job_id: str) -> None:
    """The finish of `worker_id`'s attempt at `job_id` was refused: the job
    had been recovered from it (presumed dead) and given to another worker.
    Logged, and counted on the worker's row (`refused_finishes`)."""
    logger.warning(
        "job %s: worker %s finished an attempt that had been superseded (the "
        "worker was presumed dead and the job given to another worker); its "
        "outcome was refused and its transactional writes rolled back",
        job_id,
        worker_id,
    )
    FusionWorker.objects.filter(pk=worker_id[:64]).update(
        refused_finishes=F("refused_finishes") + 1
    )


def prune_workers(older_than_seconds: float) -> int:
    """Delete rows of workers that stopped or were lost, and have not beaten
    for `older_than_seconds`; returns how many."""
    deleted, _ = (
        FusionWorker.objects.filter(
            last_beat_at__lt=Now() - timedelta(seconds=older_than_seconds)
        )
        .exclude(lost_at__isnull=True, stopped_at__isnull=True)
        .delete()
    )
    return deleted
