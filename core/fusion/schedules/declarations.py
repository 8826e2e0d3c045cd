"""What settings.FUSION_SCHEDULES declares, read and validated.

    FUSION_SCHEDULES = {
        "nightly-summary": {
            "task": "patients.jobs.send_daily_summary",  # a Fusion job
            "cron": "0 2 * * *",    # five fields, Debian cron's syntax
            "tz": "lab",            # "UTC" (default), an IANA name, or "lab"
            "catch_up": "once",     # "once" (default) or "skip"
            "queue": "default",     # optional: the job's own queue otherwise
        },
    }

With `"tz": "lab"` each active lab has its own slots, in its own time zone,
and the job is called with the lab's id: `send_daily_summary(lab_id)`.
Otherwise it is called with no argument. Read at use, never at import, so
`override_settings` works; `manage.py check` reports every problem
(core.E060, see core/checks.py).
"""

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from cronsim import CronSim, CronSimError
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.tasks import Task
from django.tasks.exceptions import InvalidTask, InvalidTaskBackend
from django.utils.module_loading import import_string

#: The `tz` of a schedule whose slots are per lab, in each lab's time zone.
PER_LAB = "lab"
CATCH_UP_POLICIES = ("once", "skip")
KEYS = {"task", "cron", "tz", "catch_up", "queue"}
#: FusionScheduleSlot.schedule's length.
MAX_NAME_LENGTH = 100


class ScheduleError(ImproperlyConfigured):
    """A schedule in settings.FUSION_SCHEDULES is wrong; the message says
    which one, which key, and what would be right."""


@dataclass(frozen=True)
class Schedule:
    """One validated entry of settings.FUSION_SCHEDULES.

    Example: `Schedule(name="nightly-summary", task=<Task ...>,
    cron="0 2 * * *", tz="lab", catch_up="once")`.
    """

    name: str
    task: Task
    cron: str
    tz: str
    catch_up: str

    @property
    def per_lab(self) -> bool:
        """One slot per lab, in the lab's time zone, the lab id passed."""
        return self.tz == PER_LAB

    def zone(self, lab_time_zone: str | None = None) -> tzinfo:
        """The zone its cron expression is read in (the lab's for per-lab)."""
        name = lab_time_zone if self.per_lab else self.tz
        return UTC if name in (None, "UTC") else zoneinfo.ZoneInfo(name)


def declared_schedules() -> list[Schedule]:
    """Every schedule of settings.FUSION_SCHEDULES, validated; raises
    ScheduleError for the first that is wrong."""
    return [
        parse_schedule(name, spec)
        for name, spec in getattr(settings, "FUSION_SCHEDULES", {}).items()
    ]


def schedule_problems() -> list[str]:
    """One message per wrong schedule (empty when all are right)."""
    declared = getattr(settings, "FUSION_SCHEDULES", {})
    if not isinstance(declared, dict):
        return ["settings.FUSION_SCHEDULES must be a dict: schedule name -> spec."]
    problems = []
    for name, spec in declared.items():
        try:
            parse_schedule(name, spec)
        except ScheduleError as exc:
            problems.append(str(exc))
    return problems


def parse_schedule(name: Any, spec: Any) -> Schedule:
    """Validate one entry; see the module docstring for its keys."""
    where = f"settings.FUSION_SCHEDULES[{name!r}]"
    if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME_LENGTH:
        raise ScheduleError(
            f"{where}: a schedule's name is a string of 1 to {MAX_NAME_LENGTH} "
            "characters."
        )
    if not isinstance(spec, dict) or not {"task", "cron"} <= set(spec):
        raise ScheduleError(
            f"{where} must be a dict with at least 'task' and 'cron', e.g. "
            "{'task': 'myapp.jobs.nightly', 'cron': '0 2 * * *'}."
        )
    unknown = sorted(set(spec) - KEYS)
    if unknown:
        raise ScheduleError(
            f"{where} has unknown keys {unknown}; known: {sorted(KEYS)}."
        )
    tz = _time_zone(where, spec.get("tz", "UTC"))
    catch_up = spec.get("catch_up", "once")
    if catch_up not in CATCH_UP_POLICIES:
        raise ScheduleError(
            f"{where}['catch_up'] is {catch_up!r}; use 'once' (run the latest "
            "missed slot once) or 'skip' (run none of the missed slots)."
        )
    return Schedule(
        name=name,
        task=_task(where, spec["task"], spec.get("queue")),
        cron=_cron(where, spec["cron"]),
        tz=tz,
        catch_up=catch_up,
    )


def _cron(where: str, cron: Any) -> str:
    if not isinstance(cron, str) or len(cron.split()) != 5:
        raise ScheduleError(
            f"{where}['cron'] is {cron!r}; use five fields (minute hour "
            "day-of-month month day-of-week), e.g. '30 2 * * *' for 02:30 daily."
        )
    try:
        CronSim(cron, datetime(2000, 1, 1, tzinfo=UTC))
    except CronSimError as exc:
        raise ScheduleError(
            f"{where}['cron'] is {cron!r}, which is not a cron expression: {exc}."
        ) from exc
    return cron


def _time_zone(where: str, tz: Any) -> str:
    if tz in ("UTC", PER_LAB):
        return str(tz)
    if not isinstance(tz, str) or tz not in zoneinfo.available_timezones():
        raise ScheduleError(
            f"{where}['tz'] is {tz!r}; use 'UTC', an IANA time zone such as "
            "'Europe/Berlin', or 'lab' (each lab's own time zone)."
        )
    return tz


def _task(where: str, path: Any, queue: Any) -> Task:
    try:
        task = import_string(path) if isinstance(path, str) else None
    except ImportError as exc:
        raise ScheduleError(
            f"{where}['task'] is {path!r}, which cannot be imported: {exc}."
        ) from exc
    if not isinstance(task, Task):
        raise ScheduleError(
            f"{where}['task'] is {path!r}, which is not a job; decorate the "
            "function with core.utils.fusion.job."
        )
    scheduled = task if queue is None else task.using(queue_name=queue)
    try:
        # A Fusion job is validated by its backend only when enqueued: here,
        # so that a queue the backend lacks is reported by the check.
        scheduled.get_backend().validate_task(scheduled)
    except (InvalidTask, InvalidTaskBackend) as exc:
        raise ScheduleError(
            f"{where}: its job cannot be enqueued on queue "
            f"{scheduled.queue_name!r} of backend {scheduled.backend!r}: {exc}"
        ) from exc
    return scheduled
