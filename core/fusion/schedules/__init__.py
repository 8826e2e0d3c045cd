"""Fusion's schedules: jobs run at cron times, each slot exactly once across
every worker of either engine (docs/jobs.md, "Schedules").

- `declarations.py`: settings.FUSION_SCHEDULES, read and validated;
- `slots.py`: which slots are due and which are missed (cronsim);
- `claims.py`: the tick every worker runs each maintenance round;
- `clock.py`: the one clock the scheduler reads (a test may set it).
"""

from core.fusion.schedules.claims import run_due_schedules
from core.fusion.schedules.declarations import (
    Schedule,
    ScheduleError,
    declared_schedules,
    schedule_problems,
)

__all__ = [
    "Schedule",
    "ScheduleError",
    "declared_schedules",
    "run_due_schedules",
    "schedule_problems",
]
