"""What an operator reads about Fusion's queues: jobs by state and queue, the
oldest ready job's age and the dead letters, and which queues are past
the readiness limits.

Computed in one place (core/fusion/status.py, `get_client("fusion").status()`)
and read by the admin's job pages, `manage.py fusion_status` and the
`job_backlog` readiness check, so all three show the same numbers.
"""

from dataclasses import asdict, dataclass
from typing import Any

from core.utils.fusion.options import FusionStats

#: The job states counted, in the order they are shown. `ready`: waiting for
#: a worker; `scheduled`: waiting for its (retry) time; the last two only
#: when finished jobs were counted.
STATES = ("ready", "scheduled", "running", "successful", "failed")


@dataclass(frozen=True)
class QueueStatus:
    """One queue's jobs by state, the age of its oldest ready job (None when
    none is ready) and its dead letters not yet handled.

    `successful` and `failed` are None when finished jobs were not counted
    (the readiness check skips them: on a busy system they are most rows).
    """

    queue: str
    ready: int = 0
    scheduled: int = 0
    running: int = 0
    successful: int | None = None
    failed: int | None = None
    oldest_ready_age_seconds: float | None = None
    dead_letters: int = 0

    def limits_exceeded(self, *, max_ready: int, max_age_seconds: float) -> list[str]:
        """Why this queue is past the limits, e.g. `["default: 120 ready (limit
        100)", "default: oldest ready 301.0 s (limit 300 s)"]`; [] within them.
        A limit is exceeded only when strictly over it."""
        reasons = []
        if self.ready > max_ready:
            reasons.append(f"{self.queue}: {self.ready} ready (limit {max_ready})")
        age = self.oldest_ready_age_seconds
        if age is not None and age > max_age_seconds:
            reasons.append(
                f"{self.queue}: oldest ready {age:.1f} s (limit {max_age_seconds:g} s)"
            )
        return reasons


@dataclass(frozen=True)
class FusionStatus:
    """A snapshot of one engine's queues.

    Example: `FusionStatus(engine="database", backend="default",
    queues=(QueueStatus("default", ready=3, oldest_ready_age_seconds=1.2),
    QueueStatus("reports", running=1)), finished_counted=False)`.
    """

    engine: str
    backend: str
    queues: tuple[QueueStatus, ...]
    finished_counted: bool

    def total(self, state: str) -> int:
        """Jobs in `state` (one of STATES) over every queue (0 for finished
        states when they were not counted)."""
        return sum(getattr(queue, state) or 0 for queue in self.queues)

    @property
    def oldest_ready_age_seconds(self) -> float | None:
        """The oldest ready job's age over every queue, or None."""
        ages = [
            q.oldest_ready_age_seconds
            for q in self.queues
            if q.oldest_ready_age_seconds is not None
        ]
        return max(ages) if ages else None

    def stats(self) -> FusionStats:
        """The engine-wide totals (`FusionEngine.stats()`)."""
        return FusionStats(
            engine=self.engine,
            ready=self.total("ready"),
            oldest_ready_age_seconds=self.oldest_ready_age_seconds,
            running=self.total("running"),
            scheduled=self.total("scheduled"),
            dead_letters=sum(q.dead_letters for q in self.queues),
        )

    def limits_exceeded(self, *, max_ready: int, max_age_seconds: float) -> list[str]:
        """Every queue's reasons (`QueueStatus.limits_exceeded`), in order."""
        return [
            reason
            for queue in self.queues
            for reason in queue.limits_exceeded(
                max_ready=max_ready, max_age_seconds=max_age_seconds
            )
        ]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, e.g. `{"engine": "database", "backend": "default",
        "finished_counted": True, "totals": {"ready": 3, ..., "dead_letters":
        0, "oldest_ready_age_seconds": 1.2}, "queues": [{"queue": "default",
        "ready": 3, ...}]}`."""
        totals: dict[str, Any] = {
            state: self.total(state)
            for state in STATES
            if self.finished_counted or state in STATES[:3]
        }
        totals["dead_letters"] = self.stats().dead_letters
        totals["oldest_ready_age_seconds"] = self.oldest_ready_age_seconds
        return {
            "engine": self.engine,
            "backend": self.backend,
            "finished_counted": self.finished_counted,
            "totals": totals,
            "queues": [asdict(queue) for queue in self.queues],
        }
