"""Moments and zones the date tests share."""

import datetime as dt
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
KOLKATA = ZoneInfo("Asia/Kolkata")
HAVANA = ZoneInfo("America/Havana")  # clocks change at midnight


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> dt.datetime:
    """An instant in UTC."""
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)


def wall(year: int, month: int, day: int, hour: int, minute: int) -> dt.datetime:
    """A wall-clock time as a lab reads it: naive on purpose."""
    return dt.datetime(year, month, day, hour, minute)  # noqa: DTZ001
