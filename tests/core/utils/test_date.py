"""Ages in years, months and days; a lab's today."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from core.utils.date import Age, age_between, today_in


@pytest.mark.parametrize(
    ("birth", "on", "expected"),
    [
        (dt.date(2026, 1, 1), dt.date(2026, 1, 1), Age(0, 0, 0)),
        (dt.date(2026, 1, 31), dt.date(2026, 2, 28), Age(0, 0, 28)),
        (dt.date(2026, 1, 31), dt.date(2026, 3, 1), Age(0, 1, 0)),
        (dt.date(2024, 1, 31), dt.date(2024, 2, 29), Age(0, 0, 29)),
        (dt.date(2024, 2, 29), dt.date(2025, 2, 28), Age(0, 11, 30)),
        (dt.date(2024, 2, 29), dt.date(2025, 3, 1), Age(1, 0, 0)),
        (dt.date(2024, 2, 29), dt.date(2028, 2, 29), Age(4, 0, 0)),
        (dt.date(1990, 6, 15), dt.date(2026, 6, 14), Age(35, 11, 30)),
        (dt.date(2025, 12, 20), dt.date(2026, 1, 5), Age(0, 0, 16)),
    ],
)
def test_age_between(birth, on, expected):
    assert age_between(birth, on) == expected


def test_age_before_birth_is_an_error():
    with pytest.raises(ValueError, match="before the birth date"):
        age_between(dt.date(2026, 1, 2), dt.date(2026, 1, 1))


def test_today_in_is_the_date_in_that_zone():
    kiritimati, samoa_us = ZoneInfo("Pacific/Kiritimati"), ZoneInfo("Pacific/Pago_Pago")

    # UTC+14 and UTC-11 are always a calendar day or more apart.
    assert today_in(kiritimati) - today_in(samoa_us) >= dt.timedelta(days=1)
