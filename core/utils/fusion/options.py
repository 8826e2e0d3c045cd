"""Fusion's engine options (settings.TASKS[alias]["OPTIONS"]) and its statistics."""

from dataclasses import dataclass, fields
from typing import Any

from core.utils.fusion.exceptions import FusionConfigurationError


@dataclass(frozen=True)
class EngineOptions:
    """Options shared by both engines, plus the broker engine's own.

    - `recovery_grace_seconds`: a RUNNING job older than its time limit plus
      this is recovered: the backstop behind heartbeats, for a live worker
      stuck in a job or one that never registered.
    - `hard_limit_grace_seconds`: a job that swallowed its time limit and is
      still running this much later has its worker replaced. Must be
      smaller than `recovery_grace_seconds`.
    - `maintenance_interval_seconds`: how often each worker recovers stale
      jobs (and, on the broker engine, relays unpublished ones).
    - `heartbeat_seconds`: how often each worker process beats (and checks
      for workers that stopped beating); `heartbeat_stale_seconds`: a worker
      silent this long is presumed dead and its RUNNING jobs go back to the
      queue at once (core/fusion/heartbeat.py). At least twice the beat, so
      one late beat is not a death.
    - `poll_interval_seconds`: the database worker's wait when idle (on
      PostgreSQL a fallback: new jobs wake idle workers by NOTIFY at once).
    - `claim_batch_size`: due jobs a database worker claims at a time (the
      first starts, the rest are leased to it for a moment; see
      core/fusion/db_claims.py). 1 turns batching off.
    - `result_retention_seconds`: finished jobs older than this are deleted
      (dead letters are kept until an operator deletes them).
    - broker engine: `broker_url`, `queue_prefix` (prepended to each Django
      queue name to make the broker queue), `publish_timeout_seconds`,
      `relay_grace_seconds` (how long the relay leaves a just-committed job to
      the process that enqueued it), `publish_pause_seconds` (after a failed
      publish, enqueuers leave publishing to the relay for this long),
      `republish_after_seconds` (a job published but still waiting this long
      after it was due is published again: its message may be lost with a
      wiped broker; a duplicate is dropped, since a job is claimed once).
    """

    recovery_grace_seconds: float = 30.0
    hard_limit_grace_seconds: float = 10.0
    maintenance_interval_seconds: float = 5.0
    heartbeat_seconds: float = 2.0
    heartbeat_stale_seconds: float = 6.0
    poll_interval_seconds: float = 1.0
    claim_batch_size: int = 10
    result_retention_seconds: float = 7 * 24 * 3600.0
    broker_url: str = ""
    queue_prefix: str = "fusion."
    publish_timeout_seconds: float = 3.0
    relay_grace_seconds: float = 5.0
    publish_pause_seconds: float = 5.0
    republish_after_seconds: float = 600.0

    def __post_init__(self) -> None:
        if not isinstance(self.claim_batch_size, int) or self.claim_batch_size < 1:
            raise FusionConfigurationError(
                f"claim_batch_size must be a whole number of jobs, at least 1; got "
                f"{self.claim_batch_size!r}."
            )
        if self.hard_limit_grace_seconds >= self.recovery_grace_seconds:
            raise FusionConfigurationError(
                f"hard_limit_grace_seconds ({self.hard_limit_grace_seconds:g}) must "
                "be smaller than recovery_grace_seconds "
                f"({self.recovery_grace_seconds:g}): a job is recovered only after "
                "its worker has been replaced."
            )
        if not 0 < 2 * self.heartbeat_seconds <= self.heartbeat_stale_seconds:
            raise FusionConfigurationError(
                f"heartbeat_stale_seconds ({self.heartbeat_stale_seconds:g}) must "
                f"be at least twice heartbeat_seconds ({self.heartbeat_seconds:g}, "
                "which must be > 0): a live worker that misses one beat must not "
                "be presumed dead."
            )

    @classmethod
    def from_options(cls, alias: str, options: dict[str, Any]) -> "EngineOptions":
        """Build from a TASKS backend's OPTIONS, ignoring keys of the
        underlying library (e.g. django-tasks-db's `id_function`)."""
        known = {f.name for f in fields(cls)}
        try:
            return cls(**{k: v for k, v in options.items() if k in known})
        except (TypeError, ValueError) as exc:
            raise FusionConfigurationError(
                f"settings.TASKS[{alias!r}]['OPTIONS'] is invalid: {exc}"
            ) from exc


@dataclass(frozen=True)
class FusionStats:
    """A snapshot of one engine's queue, for health checks and operators.

    Example: `FusionStats(engine="database", ready=3,
    oldest_ready_age_seconds=1.2, running=1, scheduled=2, dead_letters=0)`:
    3 jobs waiting for a worker (the oldest for 1.2 s), 1 running, 2 waiting
    for their retry time, no dead letter waiting for an operator.
    """

    engine: str
    ready: int
    oldest_ready_age_seconds: float | None
    running: int
    scheduled: int
    dead_letters: int

    @classmethod
    def from_counts(
        cls, engine: str, counts: dict[str, Any], now: Any, dead_letters: int
    ) -> "FusionStats":
        """Build from an aggregate with keys ready, scheduled, running and
        oldest (when the oldest ready job became ready, or None)."""
        oldest = counts["oldest"]
        return cls(
            engine=engine,
            ready=counts["ready"],
            oldest_ready_age_seconds=(
                max((now - oldest).total_seconds(), 0.0) if oldest else None
            ),
            running=counts["running"],
            scheduled=counts["scheduled"],
            dead_letters=dead_letters,
        )

    def describe(self) -> str:
        """One line for a health endpoint or a log."""
        oldest = (
            "" if self.oldest_ready_age_seconds is None
            else f" (oldest {self.oldest_ready_age_seconds:.1f} s)"
        )  # fmt: skip
        return (
            f"{self.engine}: {self.ready} ready{oldest}, {self.running} running, "
            f"{self.scheduled} scheduled, {self.dead_letters} dead letters"
        )
