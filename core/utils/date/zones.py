"""Instants and a lab's clock: UTC in storage, the lab's zone on its clock.

- `to_utc` / `to_lab_time` convert aware datetimes and refuse naive ones
  (`NaiveDatetimeError`): a naive value does not say whose clock it is from.
- `wall_time_to_utc` turns a time read from the lab's clock into a UTC
  instant, refusing a time the clocks skipped (`NonExistentTimeError`) or
  showed twice (`AmbiguousTimeError`) unless `gap=` / `fold=` says how to
  resolve it. Nothing is guessed silently.
- `local_day_bounds` / `local_range_bounds`: a lab's days as UTC instants,
  half-open, for queries. A day lasts 23 or 25 hours when the clocks change;
  where midnight itself is skipped (Havana, Beirut) it starts at 01:00.
"""

import datetime as dt
from enum import StrEnum
from zoneinfo import ZoneInfo

from django.utils import timezone


class NaiveDatetimeError(ValueError):
    """A datetime without a time zone where an instant is needed."""


class NonExistentTimeError(ValueError):
    """A wall-clock time skipped when the clocks went forward."""


class AmbiguousTimeError(ValueError):
    """A wall-clock time shown twice when the clocks went back."""


class Gap(StrEnum):
    """What `wall_time_to_utc` does with a time the clocks skipped."""

    RAISE = "raise"
    #: Read it with the offset in force before the change, as if the clock
    #: had not been moved yet: 02:30 on the night New York jumps from 02:00
    #: to 03:00 is 03:30 EDT (the same instant as 02:30 EST).
    SHIFT_FORWARD = "shift_forward"


class Fold(StrEnum):
    """What `wall_time_to_utc` does with a time the clocks showed twice."""

    RAISE = "raise"
    EARLIER = "earlier"  # the first time round (still daylight time)
    LATER = "later"  # the second time round (after the clocks went back)


def to_utc(value: dt.datetime) -> dt.datetime:
    """`value` (aware) as a UTC datetime; NaiveDatetimeError if naive."""
    return _aware(value).astimezone(dt.UTC)


def to_lab_time(value: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """`value` (aware) on the lab's clock; NaiveDatetimeError if naive."""
    return _aware(value).astimezone(zone)


def today_in(zone: ZoneInfo) -> dt.date:
    """The current date in `zone` (a lab's "today")."""
    return timezone.now().astimezone(zone).date()


def wall_time_to_utc(
    wall: dt.datetime,
    zone: ZoneInfo,
    *,
    gap: Gap = Gap.RAISE,
    fold: Fold = Fold.RAISE,
) -> dt.datetime:
    """The instant, in UTC, at which a clock in `zone` showed `wall` (naive).

    A time skipped by a daylight-saving change raises NonExistentTimeError
    unless `gap=Gap.SHIFT_FORWARD`; a time shown twice raises
    AmbiguousTimeError unless `fold` picks a side. The result is UTC, not the
    lab's zone: an aware datetime inside a fold compares unequal to every
    datetime of another zone (PEP 495), a trap a UTC value does not set.

    Example: `wall_time_to_utc(datetime(2026, 11, 1, 1, 30),
    ZoneInfo("America/New_York"), fold=Fold.LATER)` -> 2026-11-01 06:30 UTC.
    """
    if not timezone.is_naive(wall):
        raise ValueError(
            f"{wall.isoformat()} already has a time zone; wall_time_to_utc() "
            "takes a wall-clock time without one. Use to_utc() to convert it."
        )
    first, second = wall.replace(tzinfo=zone, fold=0), wall.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first.astimezone(dt.UTC)
    shown = f"{wall:%Y-%m-%d %H:%M} in {zone.key}"
    if _exists(first):
        if fold == Fold.RAISE:
            raise AmbiguousTimeError(
                f"{shown} happened twice: first at {first.tzname()}, then at "
                f"{second.tzname()} after the clocks went back. Pass "
                "fold='earlier' or fold='later', or give the UTC offset."
            )
        return (first if fold == Fold.EARLIER else second).astimezone(dt.UTC)
    # In a gap, fold=0 reads the time with the offset before the change.
    shifted = first.astimezone(dt.UTC)
    if gap == Gap.RAISE:
        # `second` (fold=1) reads the time with the new offset: an instant
        # before the change; `first`, one after it.
        change = _change_instant(second, first, zone)
        jumped_from = change + (first.utcoffset() or dt.timedelta())
        raise NonExistentTimeError(
            f"{shown} does not exist: the clocks went forward from "
            f"{jumped_from:%H:%M} to {change.astimezone(zone):%H:%M}. Enter a "
            "time from then on, or pass gap='shift_forward' to read it as "
            f"{shifted.astimezone(zone):%H:%M}."
        )
    return shifted


def local_day_bounds(day: dt.date, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """The lab-local `day` as UTC instants [start, end): for
    `created_at__gte=start, created_at__lt=end`.

    Example: `local_day_bounds(date(2026, 3, 8), ZoneInfo("America/New_York"))`
    -> (05:00 UTC on the 8th, 04:00 UTC on the 9th): a 23-hour day.
    """
    return _day_start(day, zone), _day_start(day + dt.timedelta(days=1), zone)


def local_range_bounds(
    first: dt.date, last: dt.date, zone: ZoneInfo
) -> tuple[dt.datetime, dt.datetime]:
    """Lab-local days `first` to `last` (included) as UTC instants [start, end)."""
    if last < first:
        raise ValueError(
            f"The range ends ({last.isoformat()}) before it starts "
            f"({first.isoformat()}); swap the two dates."
        )
    return _day_start(first, zone), _day_start(last + dt.timedelta(days=1), zone)


def _aware(value: dt.datetime) -> dt.datetime:
    if timezone.is_naive(value):
        raise NaiveDatetimeError(
            f"{value.isoformat()} has no time zone, so the instant it names is "
            "unknown. Pass an aware datetime: timezone.now(), or "
            "wall_time_to_utc(value, lab.zone) for a time read from the lab's "
            "clock."
        )
    return value


def _exists(local: dt.datetime) -> bool:
    """Whether the zone's clock ever shows `local`'s wall time (not in a gap)."""
    round_trip = local.astimezone(dt.UTC).astimezone(local.tzinfo)
    return round_trip.replace(tzinfo=None) == local.replace(tzinfo=None)


def _change_instant(
    before: dt.datetime, after: dt.datetime, zone: ZoneInfo
) -> dt.datetime:
    """The UTC instant the offset changes between `before` and `after` (one
    change at most lies between them), to the second, by bisection."""
    low, high = int(before.timestamp()), int(after.timestamp())
    target = dt.datetime.fromtimestamp(high, tz=zone).utcoffset()
    while high - low > 1:
        middle = (low + high) // 2
        when = dt.datetime.fromtimestamp(middle, tz=zone)
        low, high = (low, middle) if when.utcoffset() == target else (middle, high)
    return dt.datetime.fromtimestamp(high, tz=dt.UTC)


def _day_start(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    """The first instant of the lab-local `day`, in UTC."""
    midnight = dt.datetime.combine(day, dt.time(), tzinfo=zone)  # fold=0: first
    if _exists(midnight):
        return midnight.astimezone(dt.UTC)
    # Midnight was skipped: the day starts when the clocks jump.
    return _change_instant(midnight.replace(fold=1), midnight, zone)
