"""Schedules in one process: cron slots across daylight-saving changes (as
cronsim, like Debian's cron, reads them), missed slots and their catch-up
policy, per-lab slots in each lab's zone, the system check, and the tick
of a worker's maintenance round claiming each slot once."""

import os
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django_tasks_db.models import DBTaskResult

from core.fusion.schedules import run_due_schedules
from core.fusion.schedules.clock import scheduler_now
from core.fusion.schedules.slots import plan_claims, slots_between
from core.models.fusion_schedule import NO_LAB, FusionScheduleSlot
from tests.core.fusion import jobs
from tests.plugin import make_lab

BERLIN, NEW_YORK = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")
JOB = "tests.core.fusion.jobs.on_schedule"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def slots(cron: str, zone, after: datetime, until: datetime) -> list[str]:
    return [s.strftime("%m-%d %H:%M") for s in slots_between(cron, zone, after, until)]


def test_a_nightly_slot_in_the_skipped_hour_runs_once_after_the_jump():
    # Berlin, 2026-03-29: 02:00 CET (01:00 UTC) becomes 03:00 CEST.
    nightly = slots("30 2 * * *", BERLIN, utc(2026, 3, 27, 12), utc(2026, 3, 30, 12))
    half_hourly = slots("*/30 * * * *", BERLIN, utc(2026, 3, 29), utc(2026, 3, 29, 2))

    assert nightly == ["03-28 01:30", "03-29 01:00", "03-30 00:30"]  # 03:00 CEST
    assert half_hourly == ["03-29 00:30", "03-29 01:00", "03-29 01:30", "03-29 02:00"]


def test_a_nightly_slot_in_the_repeated_hour_runs_once_and_a_wildcard_twice():
    # Berlin, 2026-10-25: 03:00 CEST (01:00 UTC) becomes 02:00 CET.
    nightly = slots("30 2 * * *", BERLIN, utc(2026, 10, 24, 12), utc(2026, 10, 26, 12))
    hourly = slots("30 * * * *", BERLIN, utc(2026, 10, 24, 23), utc(2026, 10, 25, 2))

    assert nightly == ["10-25 00:30", "10-26 01:30"]  # the first 02:30 only
    assert hourly == ["10-24 23:30", "10-25 00:30", "10-25 01:30"]  # both 02:30s


def test_slots_after_a_time_inside_the_repeated_hour_never_go_back():
    # 01:15 UTC is the second 02:15; cronsim answers the first 02:30 (00:30 UTC).
    after = utc(2026, 10, 25, 1, 15)

    assert slots("30 2 * * *", BERLIN, after, utc(2026, 10, 27)) == ["10-26 01:30"]


def test_new_york_spring_forward_and_fall_back():
    spring = slots("30 2 * * *", NEW_YORK, utc(2026, 3, 7, 12), utc(2026, 3, 9, 12))
    fall = slots("30 1 * * *", NEW_YORK, utc(2026, 10, 31, 12), utc(2026, 11, 2, 12))

    assert spring == ["03-08 07:00", "03-09 06:30"]  # 03:00 EDT, then 02:30 EDT
    assert fall == ["11-01 05:30", "11-02 06:30"]  # the first 01:30 (EDT) only


def plan(catch_up: str, last: datetime | None, now: datetime):
    return [
        (c.slot_at.strftime("%d %H:%M"), c.outcome, c.missed)
        for c in plan_claims(
            cron="0 * * * *",
            zone=UTC,
            catch_up=catch_up,
            last=last,
            now=now,
            grace=timedelta(minutes=10),
        )
    ]


def test_missed_slots_run_once_or_are_skipped_as_declared():
    last, now = utc(2026, 1, 1, 0), utc(2026, 1, 1, 5, 5)

    assert plan("once", last, now) == [
        ("01 04:00", "enqueued", 3),  # 01:00..04:00 missed, the latest runs
        ("01 05:00", "enqueued", 0),  # within the grace: on time
    ]
    assert plan("skip", last, now) == [
        ("01 04:00", "skipped", 3),
        ("01 05:00", "enqueued", 0),
    ]
    assert plan("once", last, utc(2026, 1, 1, 0, 30)) == []


def test_a_new_schedule_starts_with_the_slots_of_the_grace_not_its_history():
    assert plan("once", None, utc(2026, 1, 1, 5, 5)) == [("01 05:00", "enqueued", 0)]
    assert plan("once", None, utc(2026, 1, 1, 5, 11)) == []


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"task": JOB, "cron": "61 * * * *"}, "Bad minute"),
        ({"task": JOB, "cron": "* * * *"}, "use five fields"),
        ({"task": "tests.core.fusion.jobs.nothing", "cron": "0 * * * *"}, "cannot"),
        ({"task": "tests.core.fusion.jobs.lines", "cron": "0 * * * *"}, "not a job"),
        ({"task": JOB, "cron": "0 * * * *", "tz": "Mars/Olympus"}, "Mars/Olympus"),
        ({"task": JOB, "cron": "0 * * * *", "catch_up": "twice"}, "'twice'"),
        ({"task": JOB, "cron": "0 * * * *", "queue": "nope"}, "'nope'"),
        ({"task": JOB, "cron": "0 * * * *", "every": 5}, "unknown keys"),
        ({"cron": "0 * * * *"}, "at least 'task' and 'cron'"),
    ],
)
def test_the_system_check_names_what_is_wrong(settings, database_engine, spec, message):
    settings.FUSION_SCHEDULES = {"broken": spec}

    errors = [e for e in run_checks() if e.id == "core.E060"]

    assert len(errors) == 1
    assert "FUSION_SCHEDULES['broken']" in errors[0].msg
    assert message in errors[0].msg


def test_the_system_check_accepts_right_schedules(settings, database_engine):
    settings.FUSION_SCHEDULES = {
        "a": {"task": JOB, "cron": "30 2 * * *", "tz": "Europe/Berlin"},
        "b": {"task": JOB, "cron": "0 6 * * 1-5", "tz": "lab", "queue": "spare"},
    }

    assert [e for e in run_checks() if e.id == "core.E060"] == []


@pytest.fixture
def clock(settings, tmp_path):
    """`clock(time)`: set the scheduler's now (the clock file)."""
    path = tmp_path / "clock"
    settings.FUSION_SCHEDULE_CLOCK_FILE = str(path)

    def set_to(now: datetime) -> None:
        path.write_text(now.isoformat())

    return set_to


@pytest.fixture
def job_lines(monkeypatch, tmp_path):
    path = tmp_path / "scheduled.log"
    monkeypatch.setenv(jobs.SCHEDULED_JOB_FILE, str(path))
    return lambda: jobs.lines(str(path))


def test_the_clock_file_must_hold_an_aware_time(clock):
    clock(datetime(2026, 1, 1, 2))  # noqa: DTZ001 - naive on purpose

    with pytest.raises(ImproperlyConfigured, match="with its offset"):
        scheduler_now()


@pytest.mark.django_db(transaction=True)
def test_each_round_claims_a_slot_once_and_the_job_runs_once(
    settings, database_engine, clock, job_lines, run_worker
):
    settings.FUSION_SCHEDULES = {"hourly": {"task": JOB, "cron": "0 * * * *"}}
    clock(utc(2026, 1, 1, 5, 1))

    first = database_engine.maintain()
    again = database_engine.maintain()
    run_worker(lambda: job_lines())

    assert (first["scheduled"], again["scheduled"]) == (1, 0)
    slot = FusionScheduleSlot.objects.get()
    assert (slot.schedule, slot.lab_id) == ("hourly", NO_LAB)
    assert slot.slot_at == utc(2026, 1, 1, 5)
    assert job_lines() == [f"{slot.job_id} None {os.getpid()}"]
    assert DBTaskResult.objects.get().args_kwargs == {"args": [], "kwargs": {}}


@pytest.mark.django_db(transaction=True)
def test_a_per_lab_schedule_runs_at_each_labs_own_time_with_its_id(
    settings, database_engine, clock, job_lines
):
    settings.FUSION_SCHEDULES = {
        "lab-night": {"task": JOB, "cron": "0 2 * * *", "tz": "lab", "queue": "spare"}
    }
    berlin = make_lab("Berlin", time_zone="Europe/Berlin", country="DE")
    new_york = make_lab("New York", time_zone="America/New_York", country="US")
    make_lab("Closed", time_zone="Europe/Berlin", is_active=False)

    clock(utc(2026, 1, 15, 1, 1))  # 02:01 in Berlin, 20:01 in New York
    at_berlin_night = run_due_schedules()
    clock(utc(2026, 1, 15, 7, 1))  # 02:01 in New York
    at_new_york_night = run_due_schedules()

    assert (at_berlin_night, at_new_york_night) == (1, 1)
    rows = FusionScheduleSlot.objects.order_by("slot_at")
    assert [(r.lab_id, r.slot_at) for r in rows] == [
        (berlin.pk, utc(2026, 1, 15, 1)),
        (new_york.pk, utc(2026, 1, 15, 7)),
    ]
    queued = DBTaskResult.objects.order_by("enqueued_at")
    assert [r.args_kwargs["args"] for r in queued] == [[berlin.pk], [new_york.pk]]
    assert {r.queue_name for r in queued} == {"spare"}


@pytest.mark.django_db(transaction=True)
def test_after_downtime_once_runs_the_latest_missed_slot_and_skip_none(
    settings, database_engine, clock
):
    settings.FUSION_SCHEDULE_GRACE_SECONDS = 600
    settings.FUSION_SCHEDULES = {
        "catch-up": {"task": JOB, "cron": "0 * * * *", "catch_up": "once"},
        "skip": {"task": JOB, "cron": "0 * * * *", "catch_up": "skip"},
    }
    clock(utc(2026, 1, 1, 0, 1))
    assert run_due_schedules() == 2
    clock(utc(2026, 1, 1, 5, 30))  # 01:00..05:00 passed with no worker

    assert run_due_schedules() == 1

    rows = FusionScheduleSlot.objects.filter(slot_at=utc(2026, 1, 1, 5))
    caught_up, skipped = rows.get(schedule="catch-up"), rows.get(schedule="skip")
    assert (caught_up.outcome, caught_up.missed, bool(caught_up.job_id)) == (
        "enqueued",
        4,
        True,
    )
    assert (skipped.outcome, skipped.missed, skipped.job_id) == ("skipped", 4, "")
    assert DBTaskResult.objects.count() == 3
    clock(utc(2026, 1, 1, 6, 1))
    assert run_due_schedules() == 2  # both resume at the next slot


@pytest.mark.django_db(transaction=True)
def test_a_wrong_declaration_stops_only_the_schedules(settings, database_engine, clock):
    settings.FUSION_SCHEDULES = {"broken": {"task": JOB, "cron": "nonsense"}}
    settings.FUSION_PERIODIC_TASKS = ["core.ratelimit.counters.prune_expired_counters"]
    clock(utc(2026, 1, 1, 5, 1))

    report = database_engine.maintain()

    assert report["scheduled"] == 0
    assert "prune_expired_counters" in report


@pytest.mark.django_db(transaction=True)
def test_a_failed_enqueue_leaves_neither_the_slot_nor_the_job(
    settings, database_engine, clock
):
    failing = "tests.core.fusion.jobs.on_schedule_failing"
    settings.FUSION_SCHEDULES = {"hourly": {"task": failing, "cron": "0 * * * *"}}
    clock(utc(2026, 1, 1, 5, 1))

    assert run_due_schedules() == 0

    assert FusionScheduleSlot.objects.count() == 0
    assert DBTaskResult.objects.count() == 0  # the job's row was rolled back
    settings.FUSION_SCHEDULES = {"hourly": {"task": JOB, "cron": "0 * * * *"}}
    assert run_due_schedules() == 1  # the slot is still there to claim


@pytest.mark.django_db(transaction=True)
def test_slot_rows_older_than_the_retention_are_forgotten_on_the_next_claim(
    settings, database_engine, clock
):
    settings.FUSION_SCHEDULES = {"hourly": {"task": JOB, "cron": "0 * * * *"}}
    settings.FUSION_SCHEDULE_RETENTION_DAYS = 30
    now = utc(2026, 6, 1, 5, 1)
    for days in (31, 10):
        FusionScheduleSlot.objects.create(
            schedule="hourly", slot_at=now - timedelta(days=days, minutes=1)
        )
    FusionScheduleSlot.objects.create(schedule="other", slot_at=utc(2026, 1, 1))
    clock(now)

    run_due_schedules()

    kept = FusionScheduleSlot.objects.order_by("slot_at")
    assert [(r.schedule, r.slot_at) for r in kept] == [
        ("other", utc(2026, 1, 1)),
        ("hourly", utc(2026, 5, 22, 5)),
        ("hourly", utc(2026, 6, 1, 4)),  # the catch-up of the missed hours
        ("hourly", utc(2026, 6, 1, 5)),
    ]
