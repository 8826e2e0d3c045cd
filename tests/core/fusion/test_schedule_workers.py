"""Schedules with real worker processes of both engines: two database
workers (`manage.py fusion_worker`) and a Celery worker share one clock
file, which the test moves across Berlin's fall-back day, through a
five-month downtime, and across its spring-forward day, with workers killed
and restarted around slots. Every slot runs
exactly once (counted by what each job wrote), the nonexistent 02:30 runs
at 03:00, the repeated 02:xx hours run once (fixed time) or twice
(wildcard), and missed slots follow each schedule's catch-up policy."""

import json
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest

from core.models.fusion import FusionJob
from core.models.fusion_schedule import FusionScheduleSlot
from tests.core.fusion import jobs
from tests.core.fusion.processes import WorkerProcess, wait_for, worker_env
from tests.core.fusion.test_broker_engine import celery_worker_argv

pytestmark = pytest.mark.django_db(transaction=True)

JOB = "tests.core.fusion.jobs.on_schedule"
SCHEDULES = {
    "nightly": {"task": JOB, "cron": "30 2 * * *", "tz": "Europe/Berlin"},
    "half-hourly": {
        "task": JOB,
        "cron": "*/30 * * * *",
        "tz": "Europe/Berlin",
        "catch_up": "skip",
    },
}
DATABASE_WORKERS = 2
#: Long enough for every worker to have run a few maintenance rounds (each
#: 0.2 s in tests) at one clock time, so all of them saw each slot.
SETTLE_SECONDS = 0.7
STEP_TIMEOUT_SECONDS = 90.0


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


class ScheduleRig:
    """The clock file, the workers and what the jobs wrote."""

    def __init__(self, tmp_path, broker_queue_prefix: str) -> None:
        self.prefix = broker_queue_prefix
        self.clock = tmp_path / "clock"
        self.output = tmp_path / "scheduled.log"
        self.tmp_path = tmp_path
        self.workers: list[WorkerProcess] = []
        self.started = 0

    def env(self, engine: str) -> dict[str, str]:
        env = worker_env(engine, self.prefix)
        env.update(
            DJANGO_SETTINGS_MODULE="tests.core.fusion.schedule_settings",
            TEST_FUSION_SCHEDULES=json.dumps(SCHEDULES),
            FUSION_SCHEDULE_CLOCK_FILE=str(self.clock),
            FUSION_SCHEDULE_GRACE_SECONDS="600",
            # Keep October's rows through the five-month jump, to check them.
            FUSION_SCHEDULE_RETENTION_DAYS="400",
            **{jobs.SCHEDULED_JOB_FILE: str(self.output)},
        )
        return env

    def start(self, *, database: int = DATABASE_WORKERS, celery: bool = True) -> None:
        argv = ["manage.py", "fusion_worker", "--queue-name", "*", "--no-startup-delay"]
        for _ in range(database):
            self._start("database", argv)
        if celery:
            self._start("celery", celery_worker_argv(self.prefix, "default", "sched"))

    def _start(self, engine: str, argv: list[str]) -> None:
        self.started += 1
        log = self.tmp_path / f"worker-{self.started}-{engine}.log"
        self.workers.append(WorkerProcess(argv, self.env(engine), log))

    def kill_all(self) -> None:
        for worker in self.workers:
            worker.kill()
        self.workers = []

    def set_clock(self, now: datetime) -> None:
        partial = self.clock.with_suffix(".tmp")
        partial.write_text(now.isoformat())
        partial.replace(self.clock)  # atomic: a worker never reads half a time

    def ran(self) -> list[str]:
        """The job id of each execution so far."""
        return [line.split()[0] for line in jobs.lines(str(self.output))]

    def advance(self, now: datetime, expected_rows: int) -> None:
        """Move the clock; wait for the slots and their jobs, then settle."""
        self.set_clock(now)

        def done() -> bool:
            rows = list(FusionScheduleSlot.objects.values_list("job_id", flat=True))
            enqueued = [job_id for job_id in rows if job_id]
            return len(rows) >= expected_rows and set(enqueued) <= set(self.ran())

        # Generous: workers (re)started on a loaded machine, Celery's above
        # all, may take many seconds before their first round.
        wait_for(
            done,
            f"the slots due at {now}",
            timeout=STEP_TIMEOUT_SECONDS,
            workers=tuple(self.workers),
        )
        time.sleep(SETTLE_SECONDS)


@pytest.fixture
def rig(database_engine, tmp_path, broker_queue_prefix):
    rig = ScheduleRig(tmp_path, broker_queue_prefix)
    yield rig
    rig.kill_all()


def slots() -> list[tuple[str, str, str, int]]:
    return [
        (row.schedule, row.slot_at.strftime("%Y-%m-%d %H:%M"), row.outcome, row.missed)
        for row in FusionScheduleSlot.objects.order_by("slot_at", "schedule")
    ]


def test_each_slot_runs_once_across_workers_restarts_and_dst_changes(rig):
    # Berlin falls back on 2026-10-25: 03:00 CEST (01:00 UTC) -> 02:00 CET.
    rig.set_clock(utc(2026, 10, 24, 23, 50))
    rig.start()
    rig.advance(utc(2026, 10, 25, 0, 5), 1)  # 02:00 CEST
    rig.advance(utc(2026, 10, 25, 0, 35), 3)  # the first 02:30
    rig.advance(utc(2026, 10, 25, 1, 5), 4)  # 02:00 CET, the repeated hour
    rig.kill_all()
    rig.set_clock(utc(2026, 10, 25, 1, 38))  # the second 02:30 passes, no worker
    rig.start(database=0)  # the broker engine alone claims it (and runs it)
    rig.advance(utc(2026, 10, 25, 1, 38), 5)  # back within the grace: on time
    rig.start(celery=False)
    rig.advance(utc(2026, 10, 25, 2, 5), 6)
    # Down for five months, back at 01:05 CET on the spring-forward day.
    rig.kill_all()
    rig.set_clock(utc(2027, 3, 28, 0, 5))
    rig.start()
    rig.advance(utc(2027, 3, 28, 0, 5), 9)
    # Berlin springs forward on 2027-03-28: 02:00 CET (01:00 UTC) -> 03:00 CEST.
    rig.advance(utc(2027, 3, 28, 0, 35), 10)
    rig.advance(utc(2027, 3, 28, 1, 5), 12)  # 02:30 does not exist: 03:00
    rig.advance(utc(2027, 3, 28, 1, 35), 13)
    rig.kill_all()

    missed_nights = (date(2027, 3, 27) - date(2026, 10, 26)).days
    missed_half_hours = (utc(2027, 3, 27, 23, 30) - utc(2026, 10, 25, 2, 30)) // (
        timedelta(minutes=30)
    )
    assert slots() == [
        ("half-hourly", "2026-10-25 00:00", "enqueued", 0),  # 02:00 CEST
        ("half-hourly", "2026-10-25 00:30", "enqueued", 0),  # 02:30 CEST
        ("nightly", "2026-10-25 00:30", "enqueued", 0),  # the first 02:30 only
        ("half-hourly", "2026-10-25 01:00", "enqueued", 0),  # 02:00 CET
        ("half-hourly", "2026-10-25 01:30", "enqueued", 0),  # 02:30 CET
        ("half-hourly", "2026-10-25 02:00", "enqueued", 0),  # 03:00 CET
        # Catch-up after the downtime: "once" runs the latest missed night,
        # "skip" records the latest missed half hour and runs none.
        ("nightly", "2027-03-27 01:30", "enqueued", missed_nights),
        ("half-hourly", "2027-03-27 23:30", "skipped", missed_half_hours),
        ("half-hourly", "2027-03-28 00:00", "enqueued", 0),  # on time: runs
        ("half-hourly", "2027-03-28 00:30", "enqueued", 0),  # 01:30 CET
        ("half-hourly", "2027-03-28 01:00", "enqueued", 0),  # 03:00 CEST
        ("nightly", "2027-03-28 01:00", "enqueued", 0),  # 02:30 ran at 03:00
        ("half-hourly", "2027-03-28 01:30", "enqueued", 0),  # 03:30 CEST
    ]
    enqueued = set(
        FusionScheduleSlot.objects.exclude(job_id="").values_list("job_id", flat=True)
    )
    runs = Counter(rig.ran())
    assert set(runs) == enqueued
    assert set(runs.values()) == {1}  # each slot's job ran exactly once
    by_celery = FusionScheduleSlot.objects.get(slot_at=utc(2026, 10, 25, 1, 30))
    assert FusionJob.objects.filter(pk=by_celery.job_id).exists()
