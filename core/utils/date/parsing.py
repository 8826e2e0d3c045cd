"""Dates as labs type them: ISO 8601 always, else the lab's own format.

Strict on purpose: an impossible date, a day and month that do not fit the
lab's order, or a two-digit year is a `DateFormatError` that names the format
expected, never a guess. A lab's format defaults from its country
(`date_format_for_country`).
"""

import calendar
import datetime as dt
import re
import unicodedata
from enum import StrEnum
from zoneinfo import ZoneInfo

from core.utils.date.zones import Fold, Gap, wall_time_to_utc


class DateFormatError(ValueError):
    """Text that is not a date (or date and time) in the expected format;
    `expected` names the format, e.g. "DD/MM/YYYY"."""

    def __init__(self, message: str, expected: str) -> None:
        super().__init__(message)
        self.expected = expected


class DateFormat(StrEnum):
    """How a lab writes dates by hand. ISO 8601 (YYYY-MM-DD) is accepted
    whatever the lab's format."""

    DMY = "DD/MM/YYYY"
    MDY = "MM/DD/YYYY"
    YMD = "YYYY/MM/DD"


_ORDER = {
    DateFormat.DMY: ("day", "month", "year"),
    DateFormat.MDY: ("month", "day", "year"),
    DateFormat.YMD: ("year", "month", "day"),
}
#: Countries (ISO 3166-1 alpha-2) whose labs write the month first.
MONTH_FIRST_COUNTRIES = frozenset(
    {"US", "AS", "GU", "MP", "PR", "UM", "VI", "FM", "MH", "PW", "PH"}
)
#: Countries whose labs write the year first.
YEAR_FIRST_COUNTRIES = frozenset({"CN", "JP", "KR", "TW", "HU", "LT", "MN"})
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
# Three numbers with the same separator: 8/3/2026, 08.03.2026, 08-03-2026.
_TYPED_DATE = re.compile(r"(\d+)([/.-])(\d+)\2(\d+)")
_TYPED_DATETIME = re.compile(
    r"(?P<date>\S+)[ T](?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?"
    r"(?P<offset>Z|[+-]\d{2}:?\d{2})?"
)
_EXAMPLE_DAY = dt.date(2026, 3, 31)


def date_format_for_country(country: str) -> DateFormat:
    """The date format a lab in `country` types by default.

    Example: "US" -> MM/DD/YYYY, "JP" -> YYYY/MM/DD, "IN" or "GB" -> DD/MM/YYYY.
    """
    code = country.strip().upper()
    if code in MONTH_FIRST_COUNTRIES:
        return DateFormat.MDY
    if code in YEAR_FIRST_COUNTRIES:
        return DateFormat.YMD
    return DateFormat.DMY


def parse_lab_date(text: str, date_format: DateFormat) -> dt.date:
    """The date in `text`, written in ISO 8601 (YYYY-MM-DD) or in
    `date_format` with "/", "." or "-" between day, month and a four-digit
    year. Anything else raises DateFormatError naming the format.

    Two-digit years are refused: "08/03/26" could be 1926 or 2026, and a
    date of birth makes both plausible.

    Digits may be of any one script (Latin, Arabic-Indic, Extended
    Arabic-Indic, Devanagari, ...), the same throughout: 08/03/2026 typed
    all in Arabic-Indic digits is read; with its first zero Arabic-Indic and
    the rest Latin it is refused, since digits of two scripts in one value
    are a keyboard or OCR slip more often than a date.

    Example: `parse_lab_date("08/03/2026", DateFormat.DMY)` -> date(2026, 3, 8);
    `parse_lab_date("13/25/2026", DateFormat.DMY)` raises ("there is no month 25").
    """
    value = text.strip()
    if _digit_scripts(value) > 1:
        raise _format_error(value, date_format, _MIXED_DIGITS)
    iso = _ISO_DATE.fullmatch(value)
    if iso:
        year, month, day = (int(part) for part in iso.groups())
        return _make_date(value, year, month, day, date_format)
    typed = _TYPED_DATE.fullmatch(value)
    if typed is None:
        raise _format_error(value, date_format, "it is not written that way")
    parts = dict(zip(_ORDER[date_format], typed.group(1, 3, 4), strict=True))
    if len(parts["day"]) > 2 or len(parts["month"]) > 2:
        raise _format_error(value, date_format, "it is not written that way")
    if len(parts["year"]) != 4:
        raise _format_error(
            value, date_format, "the year needs four digits (2026, not 26)"
        )
    year, month, day = int(parts["year"]), int(parts["month"]), int(parts["day"])
    return _make_date(value, year, month, day, date_format)


def parse_lab_datetime(
    text: str,
    date_format: DateFormat,
    zone: ZoneInfo,
    *,
    gap: Gap = Gap.RAISE,
    fold: Fold = Fold.RAISE,
) -> dt.datetime:
    """A typed date and 24-hour time (HH:MM or HH:MM:SS) as a UTC instant.

    The date part follows `parse_lab_date`. Without a UTC offset the time is
    read from the lab's clock (`wall_time_to_utc`, with `gap` and `fold`); with one
    ("Z", "+05:30") it is exact.

    Example: `parse_lab_datetime("08/03/2026 14:30", DateFormat.DMY,
    ZoneInfo("Asia/Kolkata"))` -> 2026-03-08 09:00 UTC.
    """
    value = text.strip()
    expected = f"{date_format} HH:MM"
    if _digit_scripts(value) > 1:
        raise _format_error(value, date_format, _MIXED_DIGITS)
    match = _TYPED_DATETIME.fullmatch(value)
    if match is None:
        raise DateFormatError(
            f"{value!r} is not a date and time. Enter it as {expected} "
            f"(e.g. {_example(date_format)} 14:30) or as YYYY-MM-DDTHH:MM.",
            expected,
        )
    day = parse_lab_date(match["date"], date_format)
    hour, minute, second = (
        int(match[name] or 0) for name in ("hour", "minute", "second")
    )
    if hour > 23 or minute > 59 or second > 59:
        raise DateFormatError(
            f"{value!r} is not a time of day: use 24-hour time, 00:00 to 23:59.",
            expected,
        )
    wall = dt.datetime.combine(day, dt.time(hour, minute, second))
    if match["offset"]:
        exact = wall.replace(tzinfo=_offset(value, match["offset"], expected))
        return exact.astimezone(dt.UTC)
    return wall_time_to_utc(wall, zone, gap=gap, fold=fold)


def _offset(value: str, offset: str, expected: str) -> dt.tzinfo:
    """A typed UTC offset ("Z", "+05:30", "-0400") as a tzinfo."""
    if offset == "Z":
        return dt.UTC
    digits = offset[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 23 or minutes > 59:
        raise DateFormatError(
            f"{value!r} has no valid UTC offset: write it as +HH:MM, e.g. +05:30.",
            expected,
        )
    sign = -1 if offset.startswith("-") else 1
    return dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))


def _make_date(
    value: str, year: int, month: int, day: int, date_format: DateFormat
) -> dt.date:
    if year < 1:
        raise _format_error(value, date_format, "there is no year 0")
    if not 1 <= month <= 12:
        reason = f"there is no month {month}"
        if _is_date(year, day, month) and date_format != DateFormat.YMD:
            reason += (
                f" (this lab writes dates as {date_format}; are the day and "
                "month swapped?)"
            )
        raise _format_error(value, date_format, reason)
    days_in_month = calendar.monthrange(year, month)[1]
    if day < 1:
        raise _format_error(value, date_format, "there is no day 0")
    if day > days_in_month:
        reason = f"{calendar.month_name[month]} {year} has {days_in_month} days"
        raise _format_error(value, date_format, reason)
    return dt.date(year, month, day)


def _is_date(year: int, month: int, day: int) -> bool:
    return 1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]


_MIXED_DIGITS = "its digits mix two scripts; write all of them in one"


def _digit_scripts(value: str) -> int:
    """How many scripts the value's decimal digits come from (each script's
    digits are ten consecutive code points starting at its zero)."""
    return len({ord(c) - unicodedata.decimal(c) for c in value if c.isdecimal()})


def _format_error(value: str, date_format: DateFormat, reason: str) -> DateFormatError:
    return DateFormatError(
        f"{value!r} is not a date in the format {date_format}: {reason}. Enter it "
        f"as {date_format} (e.g. {_example(date_format)}) or as YYYY-MM-DD "
        f"(e.g. {_EXAMPLE_DAY.isoformat()}).",
        str(date_format),
    )


def _example(date_format: DateFormat) -> str:
    values = {"day": "31", "month": "03", "year": "2026"}
    return "/".join(values[part] for part in _ORDER[date_format])
