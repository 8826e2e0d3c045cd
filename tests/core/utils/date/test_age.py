"""Ages in years, months and days, leap days included."""

import datetime as dt

import pytest

from core.utils.date import Age, age_between

pytestmark = pytest.mark.engine_independent


@pytest.mark.parametrize(
    ("birth", "on", "expected"),
    [
        (dt.date(2026, 1, 1), dt.date(2026, 1, 1), Age(0, 0, 0)),
        (dt.date(2026, 1, 1), dt.date(2026, 1, 2), Age(0, 0, 1)),  # a newborn
        (dt.date(2026, 1, 31), dt.date(2026, 2, 28), Age(0, 0, 28)),
        (dt.date(2026, 1, 31), dt.date(2026, 3, 1), Age(0, 1, 0)),
        (dt.date(2024, 1, 31), dt.date(2024, 2, 29), Age(0, 0, 29)),
        (dt.date(2024, 1, 31), dt.date(2024, 3, 1), Age(0, 1, 0)),
        (dt.date(2026, 1, 30), dt.date(2026, 2, 28), Age(0, 0, 29)),
        (dt.date(2026, 3, 31), dt.date(2026, 4, 30), Age(0, 0, 30)),
        (dt.date(2026, 3, 31), dt.date(2026, 5, 1), Age(0, 1, 0)),
        (dt.date(2023, 12, 31), dt.date(2024, 2, 29), Age(0, 1, 29)),
        (dt.date(2024, 2, 29), dt.date(2024, 3, 29), Age(0, 1, 0)),
        (dt.date(2024, 2, 29), dt.date(2025, 2, 28), Age(0, 11, 30)),
        (dt.date(2024, 2, 29), dt.date(2025, 3, 1), Age(1, 0, 0)),
        (dt.date(2024, 2, 29), dt.date(2028, 2, 28), Age(3, 11, 30)),
        (dt.date(2024, 2, 29), dt.date(2028, 2, 29), Age(4, 0, 0)),
        (dt.date(1990, 6, 15), dt.date(2026, 6, 14), Age(35, 11, 30)),
        (dt.date(2025, 12, 20), dt.date(2026, 1, 5), Age(0, 0, 16)),
        (dt.date(1900, 3, 1), dt.date(2026, 3, 1), Age(126, 0, 0)),
    ],
)
def test_age_between(birth, on, expected):
    assert age_between(birth, on) == expected


def test_age_before_birth_is_an_error():
    with pytest.raises(ValueError, match="before the birth date"):
        age_between(dt.date(2026, 1, 2), dt.date(2026, 1, 1))
