"""The scheduler's tick: claim each due slot exactly once and enqueue its job.

Every Fusion worker, of either engine, calls `run_due_schedules()` once per
maintenance round (core/fusion/engine.py). For each schedule (and each
active lab, for per-lab schedules) it reads the latest recorded slot (one
query per schedule, plus one for the labs), plans the due claims
(slots.py) and, for each, in one transaction: inserts the
`FusionScheduleSlot` row, enqueues the job (the database engine's job row,
or the broker engine's FusionJob outbox row, both in that transaction) and
stores the job id. The unique constraint on (schedule, lab, slot) lets one
worker's insert win; the others get an IntegrityError and move on. So a
slot is claimed and enqueued, or neither: a worker killed mid-claim leaves
nothing, and the next round of any worker claims the slot again.
"""

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, router, transaction
from django.db.models import Max

from core.fusion.schedules.clock import scheduler_now
from core.fusion.schedules.declarations import (
    Schedule,
    ScheduleError,
    declared_schedules,
)
from core.fusion.schedules.slots import Claim, plan_claims
from core.models.fusion_schedule import NO_LAB, FusionScheduleSlot, SlotOutcome
from core.tenancy.hierarchy import lab_model

logger = logging.getLogger(__name__)

#: A slot seen this long after it fired is missed (settings override it).
DEFAULT_GRACE_SECONDS = 300
#: Slot rows are kept this many days (what ran when, for operators; a job
#: every minute keeps about 130,000 rows); the newest of each schedule and
#: lab always stays. settings.FUSION_SCHEDULE_RETENTION_DAYS overrides it.
DEFAULT_RETENTION_DAYS = 90


def run_due_schedules() -> int:
    """One scheduler tick; returns how many jobs it enqueued. A schedule
    that fails is logged and does not stop the others; a wrong declaration
    (also reported by `manage.py check`) stops only the schedules."""
    try:
        schedules = declared_schedules()
    except ScheduleError:
        logger.exception("settings.FUSION_SCHEDULES is wrong; no schedule runs")
        return 0
    if not schedules:
        return 0
    now = scheduler_now()
    grace_seconds = getattr(
        settings, "FUSION_SCHEDULE_GRACE_SECONDS", DEFAULT_GRACE_SECONDS
    )
    grace = timedelta(seconds=grace_seconds)
    labs: list[tuple[int, str]] | None = None
    enqueued = 0
    for schedule in schedules:
        if schedule.per_lab and labs is None:
            labs = list(
                lab_model()
                .objects.filter(is_active=True)
                .order_by("pk")
                .values_list("pk", "time_zone")
            )
        try:
            enqueued += _tick(schedule, labs or [], now, grace)
        except Exception:
            logger.exception("schedule %s failed; retrying next round", schedule.name)
    return enqueued


def _tick(
    schedule: Schedule, labs: list[tuple[int, str]], now: datetime, grace: timedelta
) -> int:
    last = dict(
        FusionScheduleSlot.objects.filter(schedule=schedule.name)
        .values("lab_id")
        .annotate(last=Max("slot_at"))
        .values_list("lab_id", "last")
    )
    targets = labs if schedule.per_lab else [(NO_LAB, "UTC")]
    enqueued = 0
    for lab_id, time_zone in targets:
        claims = plan_claims(
            cron=schedule.cron,
            zone=schedule.zone(time_zone),
            catch_up=schedule.catch_up,
            last=last.get(lab_id),
            now=now,
            grace=grace,
        )
        for claim in claims:
            enqueued += _claim(schedule, lab_id, claim, now)
    return enqueued


def _claim(schedule: Schedule, lab_id: int, claim: Claim, now: datetime) -> int:
    """Claim one slot; 1 if this worker enqueued its job, else 0."""
    args: list[Any] = [lab_id] if schedule.per_lab else []
    try:
        with transaction.atomic(using=router.db_for_write(FusionScheduleSlot)):
            row = FusionScheduleSlot.objects.create(
                schedule=schedule.name,
                lab_id=lab_id,
                slot_at=claim.slot_at,
                outcome=claim.outcome,
                missed=claim.missed,
                claimed_at=now,
            )
            if claim.outcome != SlotOutcome.ENQUEUED:
                logger.info("schedule %s: %s", schedule.name, row)
                return 0
            row.job_id = str(schedule.task.enqueue(*args).id)
            row.save(update_fields=["job_id"])
    except IntegrityError:
        return 0  # another worker claimed this slot first
    logger.info("schedule %s: %s, job %s", schedule.name, row, row.job_id)
    _forget_old_slots(schedule.name, lab_id, claim.slot_at)
    return 1


def _forget_old_slots(name: str, lab_id: int, latest: datetime) -> None:
    """Delete the slots kept longer than the retention before `latest`,
    which this worker just claimed (so the newest row always stays)."""
    days = getattr(settings, "FUSION_SCHEDULE_RETENTION_DAYS", DEFAULT_RETENTION_DAYS)
    FusionScheduleSlot.objects.filter(
        schedule=name, lab_id=lab_id, slot_at__lt=latest - timedelta(days=days)
    ).delete()
