"""Dates and times as labs type them: the lab's format or ISO 8601,
strictly, with errors that name the format expected."""

import datetime as dt

import pytest

from core.utils.date import (
    AmbiguousTimeError,
    DateFormat,
    DateFormatError,
    Fold,
    Gap,
    NonExistentTimeError,
    date_format_for_country,
    parse_lab_date,
    parse_lab_datetime,
)
from tests.core.utils.date.moments import KOLKATA, NEW_YORK, utc

pytestmark = pytest.mark.engine_independent


@pytest.mark.parametrize(
    ("country", "expected"),
    [
        ("US", DateFormat.MDY),
        ("us", DateFormat.MDY),
        ("PH", DateFormat.MDY),
        ("IN", DateFormat.DMY),
        ("GB", DateFormat.DMY),
        ("AE", DateFormat.DMY),
        ("JP", DateFormat.YMD),
    ],
)
def test_the_date_format_follows_the_labs_country(country, expected):
    assert date_format_for_country(country) == expected


@pytest.mark.parametrize(
    ("text", "date_format"),
    [
        ("08/03/2026", DateFormat.DMY),
        ("8/3/2026", DateFormat.DMY),
        ("08.03.2026", DateFormat.DMY),
        ("08-03-2026", DateFormat.DMY),
        ("  08/03/2026 ", DateFormat.DMY),
        ("03/08/2026", DateFormat.MDY),
        ("2026/03/08", DateFormat.YMD),
        ("2026-03-08", DateFormat.DMY),  # ISO 8601 whatever the lab's format
        ("2026-03-08", DateFormat.MDY),
        ("2026-03-08", DateFormat.YMD),
    ],
)
def test_a_date_in_the_labs_format_or_iso_is_read(text, date_format):
    assert parse_lab_date(text, date_format) == dt.date(2026, 3, 8)


def test_the_same_digits_are_read_by_the_labs_format_never_guessed():
    assert parse_lab_date("03/04/2026", DateFormat.DMY) == dt.date(2026, 4, 3)
    assert parse_lab_date("03/04/2026", DateFormat.MDY) == dt.date(2026, 3, 4)


def test_a_leap_day_is_read():
    assert parse_lab_date("29/02/2028", DateFormat.DMY) == dt.date(2028, 2, 29)


@pytest.mark.parametrize(
    ("text", "date_format", "reason"),
    [
        ("13/25/2026", DateFormat.DMY, "there is no month 25"),
        ("02/30/2026", DateFormat.DMY, "there is no month 30"),
        ("25/12/2026", DateFormat.MDY, "there is no month 25"),
        ("31/04/2026", DateFormat.DMY, "April 2026 has 30 days"),
        ("04/31/2026", DateFormat.MDY, "April 2026 has 30 days"),
        ("29/02/2027", DateFormat.DMY, "February 2027 has 28 days"),
        ("2027-02-29", DateFormat.DMY, "February 2027 has 28 days"),
        ("2026-13-01", DateFormat.MDY, "there is no month 13"),
        ("0/1/2026", DateFormat.DMY, "there is no day 0"),
        ("1/1/0000", DateFormat.DMY, "there is no year 0"),
        ("08/03/26", DateFormat.DMY, "the year needs four digits"),
        ("8/3/226", DateFormat.DMY, "the year needs four digits"),
        ("2026/03/08", DateFormat.DMY, "not written that way"),
        ("08/03-2026", DateFormat.DMY, "not written that way"),
        ("08032026", DateFormat.DMY, "not written that way"),
        ("8 March 2026", DateFormat.DMY, "not written that way"),
        ("", DateFormat.DMY, "not written that way"),
    ],
)
def test_a_bad_date_is_refused_naming_the_expected_format(text, date_format, reason):
    with pytest.raises(DateFormatError) as error:
        parse_lab_date(text, date_format)

    message = str(error.value)
    assert reason in message
    assert f"in the format {date_format}" in message and "YYYY-MM-DD" in message
    assert error.value.expected == str(date_format)


def test_a_day_and_month_that_look_swapped_are_pointed_out():
    with pytest.raises(DateFormatError, match="are the day and month swapped"):
        parse_lab_date("03/25/2026", DateFormat.DMY)
    with pytest.raises(DateFormatError) as not_swappable:  # 30 February either way
        parse_lab_date("02/30/2026", DateFormat.DMY)

    assert "swapped" not in str(not_swappable.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("08/03/2026 14:30", utc(2026, 3, 8, 9, 0)),
        ("8/3/2026 9:05", utc(2026, 3, 8, 3, 35)),
        ("2026-03-08T14:30:15", utc(2026, 3, 8, 9, 0, 15)),
        ("2026-03-08 14:30Z", utc(2026, 3, 8, 14, 30)),
        ("2026-03-08T14:30+05:30", utc(2026, 3, 8, 9, 0)),
        ("08/03/2026 14:30-0400", utc(2026, 3, 8, 18, 30)),
    ],
)
def test_a_typed_date_and_time_becomes_a_utc_instant(text, expected):
    parsed = parse_lab_datetime(text, DateFormat.DMY, KOLKATA)

    assert parsed == expected and parsed.tzinfo is dt.UTC


def test_a_typed_time_in_a_dst_gap_or_fold_is_refused_unless_resolved():
    with pytest.raises(NonExistentTimeError):
        parse_lab_datetime("03/08/2026 02:30", DateFormat.MDY, NEW_YORK)
    with pytest.raises(AmbiguousTimeError):
        parse_lab_datetime("11/01/2026 01:30", DateFormat.MDY, NEW_YORK)

    shifted = parse_lab_datetime(
        "03/08/2026 02:30", DateFormat.MDY, NEW_YORK, gap=Gap.SHIFT_FORWARD
    )
    later = parse_lab_datetime(
        "11/01/2026 01:30", DateFormat.MDY, NEW_YORK, fold=Fold.LATER
    )
    exact = parse_lab_datetime("2026-11-01T01:30-04:00", DateFormat.MDY, NEW_YORK)

    assert shifted == utc(2026, 3, 8, 7, 30)
    assert later == utc(2026, 11, 1, 6, 30)
    assert exact == utc(2026, 11, 1, 5, 30)  # an offset makes it unambiguous


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("08/03/2026", "not a date and time.*DD/MM/YYYY HH:MM"),
        ("08/03/2026 2:30 PM", "not a date and time"),
        ("08/03/2026 24:00", "not a time of day"),
        ("08/03/2026 12:60", "not a time of day"),
        ("31/04/2026 10:00", "April 2026 has 30 days"),
        ("2026-03-08T14:30+25:00", r"no valid UTC offset: write it as \+HH:MM"),
        ("2026-03-08T14:30+05:75", "no valid UTC offset"),
    ],
)
def test_a_bad_date_and_time_is_refused(text, match):
    with pytest.raises(DateFormatError, match=match):
        parse_lab_datetime(text, DateFormat.DMY, KOLKATA)


# -- digits: any one script per value ---------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["08/03/2026", "٠٨/٠٣/٢٠٢٦", "۰۸/۰۳/۲۰۲۶", "०८/०३/२०२६", "٢٠٢٦-٠٣-٠٨"],
    ids=["latin", "arabic-indic", "extended arabic-indic", "devanagari", "iso"],
)
def test_a_date_in_any_one_script_of_digits_is_read(text):
    assert parse_lab_date(text, DateFormat.DMY) == dt.date(2026, 3, 8)


@pytest.mark.parametrize("text", ["٠8/03/2026", "08/03/२०२६", "2026-03-٠٨"])  # noqa: RUF001
def test_digits_of_two_scripts_in_one_date_are_refused(text):
    with pytest.raises(DateFormatError, match="its digits mix two scripts"):
        parse_lab_date(text, DateFormat.DMY)


def test_a_date_and_time_in_two_scripts_is_refused():
    with pytest.raises(DateFormatError, match="its digits mix two scripts"):
        parse_lab_datetime("08/03/2026 ١٤:٣٠", DateFormat.DMY, KOLKATA)
