"""Dates and times on reports in English, Arabic and Hindi."""

import datetime as dt

import pytest

from core.utils.date import (
    NaiveDatetimeError,
    format_report_date,
    format_report_datetime,
)
from tests.core.utils.date.moments import KOLKATA, NEW_YORK, utc

pytestmark = pytest.mark.engine_independent


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "March 8, 2026"), ("ar", "8 مارس، 2026"), ("hi", "8 मार्च 2026")],
)
def test_a_report_date_is_written_in_the_reports_language(language, expected):
    assert format_report_date(dt.date(2026, 3, 8), language) == expected


def test_hindi_month_names_are_spelt_correctly():
    months = [format_report_date(dt.date(2026, m, 1), "hi") for m in (9, 11, 12)]

    assert months == ["1 सितंबर 2026", "1 नवंबर 2026", "1 दिसंबर 2026"]


def test_a_report_time_is_on_the_labs_clock_in_24_hours_with_its_zone():
    afternoon = utc(2026, 3, 8, 9, 0)

    assert format_report_datetime(afternoon, KOLKATA, "en") == "March 8, 2026 14:30 IST"
    assert format_report_datetime(afternoon, KOLKATA, "ar") == "8 مارس، 2026 14:30 IST"
    assert format_report_datetime(afternoon, KOLKATA, "hi") == "8 मार्च 2026 14:30 IST"


def test_the_two_0130s_of_the_night_clocks_go_back_are_told_apart():
    first = format_report_datetime(utc(2026, 11, 1, 5, 30), NEW_YORK, "en")
    second = format_report_datetime(utc(2026, 11, 1, 6, 30), NEW_YORK, "en")

    assert (first, second) == ("Nov. 1, 2026 01:30 EDT", "Nov. 1, 2026 01:30 EST")


def test_report_formatting_refuses_an_unknown_language_and_a_naive_datetime():
    with pytest.raises(ValueError, match=r"'fr' is not a language.*en, ar, hi"):
        format_report_date(dt.date(2026, 3, 8), "fr")
    with pytest.raises(NaiveDatetimeError):
        format_report_datetime(dt.datetime(2026, 3, 8, 9), KOLKATA, "en")  # noqa: DTZ001
