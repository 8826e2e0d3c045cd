"""Ages in years, months and days, as paediatric reference ranges need."""

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Age:
    """An age in whole years, months and days, as paediatric ranges need.

    Example: `Age(years=0, months=2, days=14)`.
    """

    years: int
    months: int
    days: int


def age_between(birth: dt.date, on: dt.date) -> Age:
    """The age on `on` of someone born on `birth`.

    Months and days are counted calendar-wise: from 31 January to 29 February
    is 29 days, and someone born on 29 February turns one on 1 March of a
    common year (the day after 28 February). Raises ValueError when `on` is
    before `birth`.
    """
    if on < birth:
        raise ValueError(f"The date {on.isoformat()} is before the birth date.")
    months = (on.year - birth.year) * 12 + (on.month - birth.month)
    if on.day < birth.day:
        months -= 1
    anniversary = _add_months(birth, months)
    return Age(years=months // 12, months=months % 12, days=(on - anniversary).days)


def _add_months(start: dt.date, months: int) -> dt.date:
    """`start` moved by whole months; a day past the month's end moves to the
    first of the next month (29 Feb + 12 months = 1 Mar)."""
    year, month_index = divmod(start.month - 1 + months, 12)
    year += start.year
    try:
        return dt.date(year, month_index + 1, start.day)
    except ValueError:
        next_month = dt.date(
            year + (month_index + 1) // 12, (month_index + 1) % 12 + 1, 1
        )
        return next_month
