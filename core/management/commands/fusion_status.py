"""`manage.py fusion_status [--watch SECONDS] [--json]`: Fusion's queues in
a terminal, with the numbers the admin's job pages and the `job_backlog`
readiness check show (`get_client("fusion").status()`).

- plain: a table of jobs by state and queue, each queue's oldest ready job
  and pending dead letters, the totals, and the queues past the readiness
  limits (HEALTH_CHECK_BACKLOG_MAX_READY_JOBS, ..._MAX_AGE_SECONDS);
- `--json`: the same as one JSON object (`FusionStatus.as_dict()` plus
  `over_limits`); with `--watch`, one object per line;
- `--watch SECONDS`: redraw every SECONDS until Ctrl-C (`--iterations N`
  stops after N snapshots, for scripts and tests).
"""

import datetime as dt
import json
import time
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core.utils.clients import get_client
from core.utils.fusion.queue_status import STATES, FusionStatus, QueueStatus

#: Clears a terminal and puts the cursor top left (ANSI), before each redraw.
CLEAR_SCREEN = "\033[H\033[2J"
#: The table's columns after the queue name (`_cells` fills them).
COLUMN_HEADINGS = (
    "ready",
    "oldest ready",
    "scheduled",
    "running",
    "successful",
    "failed",
    "dead letters",
)


class Command(BaseCommand):
    """Print Fusion's queues once, or again every --watch seconds."""

    help = "Fusion's jobs by state and queue, oldest ready age and dead letters."

    def add_arguments(self, parser: ArgumentParser) -> None:
        """--watch SECONDS, --iterations N, --json."""
        parser.add_argument(
            "--watch",
            type=float,
            metavar="SECONDS",
            help="Redraw every SECONDS until interrupted (Ctrl-C).",
        )
        parser.add_argument(
            "--iterations",
            type=int,
            metavar="N",
            help="With --watch: stop after N snapshots.",
        )
        parser.add_argument("--json", action="store_true", help="Print JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        """One snapshot, or a loop of them; Ctrl-C ends the loop quietly."""
        every, iterations = options["watch"], options["iterations"]
        if every is not None and every <= 0:
            raise CommandError(
                f"--watch needs a positive number of seconds; got {every:g}."
            )
        if iterations is not None and (every is None or iterations < 1):
            raise CommandError("--iterations N (N >= 1) goes with --watch SECONDS.")
        if every is None:
            self._show(as_json=options["json"], clear=False)
            return
        done = 0
        try:
            while iterations is None or done < iterations:
                if done:
                    time.sleep(every)
                self._show(as_json=options["json"], clear=not options["json"])
                done += 1
        except KeyboardInterrupt:
            self.stdout.write("")

    def _show(self, *, as_json: bool, clear: bool) -> None:
        status = get_client("fusion").status(include_finished=True)
        over = status.limits_exceeded(
            max_ready=settings.HEALTH_CHECK_BACKLOG_MAX_READY_JOBS,
            max_age_seconds=settings.HEALTH_CHECK_BACKLOG_MAX_AGE_SECONDS,
        )
        if as_json:
            self.stdout.write(json.dumps({**status.as_dict(), "over_limits": over}))
            return
        self.stdout.write((CLEAR_SCREEN if clear else "") + render(status, over))
        self.stdout.flush()


def render(status: FusionStatus, over: list[str]) -> str:
    """The plain-text report, e.g.

    Fusion: database engine (backend "default") at 2026-12-04 10:30:01 UTC
    queue    ready  oldest ready  scheduled  running  successful  failed  dead letters
    default      1         3.2 s          0        0           5       0             0
    total        1         3.2 s          0        0           5       0             0
    within the readiness limits
    """
    now = timezone.now().astimezone(dt.UTC)
    width = max([len("total"), len("queue"), *(len(q.queue) for q in status.queues)])
    headings = ["queue".ljust(width), *COLUMN_HEADINGS]
    lines = [
        f'Fusion: {status.engine} engine (backend "{status.backend}") '
        f"at {now:%Y-%m-%d %H:%M:%S} UTC",
        "  ".join(headings),
    ]
    total = QueueStatus(
        queue="total",
        **{state: status.total(state) for state in STATES},
        oldest_ready_age_seconds=status.oldest_ready_age_seconds,
        dead_letters=status.stats().dead_letters,
    )
    for queue in (*status.queues, total):
        cells = [queue.queue.ljust(width), *_cells(queue)]
        lines.append(
            "  ".join(
                cell if i == 0 else cell.rjust(len(headings[i]))
                for i, cell in enumerate(cells)
            )
        )
    lines.append(
        "over the readiness limits: " + "; ".join(over)
        if over
        else "within the readiness limits"
    )
    return "\n".join(lines)


def _cells(queue: QueueStatus) -> list[str]:
    age = queue.oldest_ready_age_seconds
    return [
        str(queue.ready),
        "-" if age is None else f"{age:.1f} s",
        str(queue.scheduled),
        str(queue.running),
        str(queue.successful or 0),
        str(queue.failed or 0),
        str(queue.dead_letters),
    ]
