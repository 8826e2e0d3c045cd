"""Which slots of a schedule are due, and which of them count as missed.

Cron expressions are evaluated by cronsim, which follows Debian's cron
across daylight-saving changes (its README, "DST Transitions"):

- clocks go forward (Europe/Berlin, 2026-03-29, 02:00 -> 03:00): a job at a
  fixed time inside the skipped hour ("30 2 * * *") runs once, at 03:00
  local (01:00 UTC); jobs with `*` in the minute or hour field
  ("*/30 * * * *", "30 * * * *") simply have no slots in that hour;
- clocks go back (2026-10-25, 03:00 -> 02:00): a fixed-time job in the
  repeated hour ("30 2 * * *") runs once, at the first 02:30 (00:30 UTC);
  jobs with `*` in the minute or hour field run in both 02:xx hours.

Slots are kept in UTC, so each one is a distinct instant.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache

from cronsim import CronSim

from core.models.fusion_schedule import SlotOutcome

#: A schedule idle for longer (no slot recorded, workers all down) only
#: looks this far back: a minutely job down for a year costs no long loop.
LOOKBACK = timedelta(days=366)


def slots_between(
    cron: str, zone: tzinfo, after: datetime, until: datetime
) -> Iterator[datetime]:
    """The slots of `cron` read in `zone`, in UTC, with `after < slot <= until`.

    Example: `slots_between("30 2 * * *", ZoneInfo("Europe/Berlin"),
    2026-03-28 12:00Z, 2026-03-29 12:00Z)` yields 2026-03-29 01:00Z (the
    skipped 02:30 runs at 03:00 CEST).
    """
    for local in CronSim(cron, after.astimezone(zone)):
        slot = local.astimezone(UTC)
        # Started inside a repeated hour, cronsim may answer the first
        # occurrence of a wall time, which is before `after`.
        if slot <= after:
            continue
        if slot > until:
            return
        yield slot


@lru_cache(maxsize=4096)
def next_slot(cron: str, zone: tzinfo, after: datetime) -> datetime | None:
    """The first slot after `after` (None if none within cronsim's 50
    years). Cached: between two slots each round asks the same question
    for each schedule and lab, and a per-lab schedule has one per lab."""
    never = datetime.max.replace(tzinfo=UTC)
    return next(slots_between(cron, zone, after, never), None)


@dataclass(frozen=True)
class Claim:
    """A slot a worker tries to claim: enqueue its job, or record it skipped.

    `missed`: how many earlier missed slots are folded into this one.
    """

    slot_at: datetime
    outcome: str
    missed: int = 0


def plan_claims(
    *,
    cron: str,
    zone: tzinfo,
    catch_up: str,
    last: datetime | None,
    now: datetime,
    grace: timedelta,
) -> list[Claim]:
    """The claims due at `now`, oldest first, for one schedule (and lab).

    `last`: the latest slot already recorded, or None for a schedule (or a
    lab) never seen, which starts with the slots of the last `grace`, not
    with its whole history. A due slot older than `grace` is *missed* (no
    worker ran its scheduler near that time): the missed ones become one
    claim of the latest of them, enqueued with catch_up "once", recorded as
    skipped with "skip". Slots within the grace are each enqueued.
    """
    after = max(last if last is not None else now - grace, now - LOOKBACK)
    first = next_slot(cron, zone, after)
    if first is None or first > now:
        return []  # the common round: nothing due yet
    missed: list[datetime] = []
    on_time: list[datetime] = []
    for slot in slots_between(cron, zone, after, now):
        (on_time if slot >= now - grace else missed).append(slot)
    claims = [Claim(slot, SlotOutcome.ENQUEUED) for slot in on_time]
    if missed:
        outcome = SlotOutcome.ENQUEUED if catch_up == "once" else SlotOutcome.SKIPPED
        claims.insert(0, Claim(missed[-1], outcome, missed=len(missed) - 1))
    return claims
