"""Dates and times for labs: stored in UTC, shown in the lab's time zone.

One concept per module, re-exported here (`from core.utils.date import ...`):

- `zones`: instants and the lab's clock. Aware datetimes only
  (`NaiveDatetimeError`); a lab's wall-clock time to UTC with daylight-saving
  gaps and folds refused unless resolved explicitly (`wall_time_to_utc`,
  `Gap`, `Fold`); a lab's "today" and its days as UTC bounds
  (`local_day_bounds`, `local_range_bounds`), 23 or 25 hours long when the
  clocks change.
- `parsing`: dates as labs type them, ISO 8601 or the lab's format
  (`parse_lab_date`, `parse_lab_datetime`, `date_format_for_country`),
  strictly (`DateFormatError` names the format expected).
- `reports`: dates and times on reports in English, Arabic or Hindi
  (`format_report_date`, `format_report_datetime`), and instants on staff
  pages on the lab's clock (`format_lab_clock`).
- `age`: years, months and days between two dates (`age_between`).
"""

from core.utils.date.age import Age, age_between
from core.utils.date.formatting import (
    format_lab_clock,
    format_report_date,
    format_report_datetime,
)
from core.utils.date.parsing import (
    DateFormat,
    DateFormatError,
    date_format_for_country,
    parse_lab_date,
    parse_lab_datetime,
)
from core.utils.date.zones import (
    AmbiguousTimeError,
    Fold,
    Gap,
    NaiveDatetimeError,
    NonExistentTimeError,
    local_day_bounds,
    local_range_bounds,
    to_lab_time,
    to_utc,
    today_in,
    wall_time_to_utc,
)

__all__ = [
    "Age",
    "AmbiguousTimeError",
    "DateFormat",
    "DateFormatError",
    "Fold",
    "Gap",
    "NaiveDatetimeError",
    "NonExistentTimeError",
    "age_between",
    "date_format_for_country",
    "format_lab_clock",
    "format_report_date",
    "format_report_datetime",
    "local_day_bounds",
    "local_range_bounds",
    "parse_lab_date",
    "parse_lab_datetime",
    "to_lab_time",
    "to_utc",
    "today_in",
    "wall_time_to_utc",
]
