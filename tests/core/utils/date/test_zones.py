"""Instants, wall-clock times in daylight-saving gaps and folds, and a
lab's day as UTC bounds (23, 24 or 25 hours)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from core.utils.date import (
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
from tests.core.utils.date.moments import HAVANA, KOLKATA, LONDON, NEW_YORK, utc, wall

pytestmark = pytest.mark.engine_independent

HOUR = dt.timedelta(hours=1)
SECOND = dt.timedelta(seconds=1)


def test_today_in_is_the_date_in_that_zone():
    kiritimati, samoa_us = ZoneInfo("Pacific/Kiritimati"), ZoneInfo("Pacific/Pago_Pago")

    # UTC+14 and UTC-11 are always a calendar day or more apart.
    assert today_in(kiritimati) - today_in(samoa_us) >= dt.timedelta(days=1)


def test_aware_datetimes_convert_to_utc_and_to_the_labs_clock():
    collected = dt.datetime(2026, 3, 8, 14, 30, tzinfo=KOLKATA)

    in_utc = to_utc(collected)
    in_london = to_lab_time(in_utc, LONDON)

    assert in_utc == utc(2026, 3, 8, 9, 0) and in_utc.tzinfo is dt.UTC
    assert (in_london.hour, in_london.minute, in_london.tzname()) == (9, 0, "GMT")


@pytest.mark.parametrize("convert", [to_utc, lambda value: to_lab_time(value, LONDON)])
def test_a_naive_datetime_is_refused_where_an_instant_is_needed(convert):
    with pytest.raises(NaiveDatetimeError, match=r"has no time zone.*wall_time_to_utc"):
        convert(dt.datetime(2026, 3, 8, 14, 30))  # noqa: DTZ001 - the bad input


def test_an_ordinary_wall_time_is_read_from_the_labs_clock():
    read = wall_time_to_utc(wall(2026, 3, 8, 14, 30), KOLKATA)

    assert read == utc(2026, 3, 8, 9) and read.tzinfo is dt.UTC


def test_wall_time_to_utc_refuses_a_datetime_that_already_has_a_zone():
    with pytest.raises(ValueError, match="already has a time zone"):
        wall_time_to_utc(utc(2026, 3, 8, 9), KOLKATA)


def test_a_time_skipped_by_the_clocks_is_refused_with_the_jump_named():
    with pytest.raises(NonExistentTimeError) as error:
        wall_time_to_utc(wall(2026, 3, 8, 2, 30), NEW_YORK)

    message = str(error.value)
    assert "2026-03-08 02:30 in America/New_York does not exist" in message
    assert "from 02:00 to 03:00" in message and "gap='shift_forward'" in message


def test_a_skipped_time_shifted_forward_is_read_with_the_offset_before_the_jump():
    skipped = wall(2026, 3, 8, 2, 30)

    shifted = wall_time_to_utc(skipped, NEW_YORK, gap=Gap.SHIFT_FORWARD)

    assert shifted == utc(2026, 3, 8, 7, 30) and shifted.tzinfo is dt.UTC  # 02:30 EST
    assert f"{shifted.astimezone(NEW_YORK):%H:%M %Z}" == "03:30 EDT"


def test_a_time_shown_twice_is_refused_unless_a_side_is_chosen():
    twice = wall(2026, 11, 1, 1, 30)

    with pytest.raises(AmbiguousTimeError, match=r"happened twice.*EDT.*EST"):
        wall_time_to_utc(twice, NEW_YORK)
    earlier = wall_time_to_utc(twice, NEW_YORK, fold=Fold.EARLIER)
    later = wall_time_to_utc(twice, NEW_YORK, fold=Fold.LATER)

    # UTC results: a datetime inside the fold would compare unequal to any
    # datetime of another zone (PEP 495), so the result is never left there.
    assert earlier == utc(2026, 11, 1, 5, 30) and earlier.tzinfo is dt.UTC
    assert later == utc(2026, 11, 1, 6, 30) and later.tzinfo is dt.UTC
    on_the_clock = [f"{t.astimezone(NEW_YORK):%H:%M %Z}" for t in (earlier, later)]
    assert on_the_clock == ["01:30 EDT", "01:30 EST"]


def test_london_gap_and_fold_are_refused_too():
    with pytest.raises(NonExistentTimeError, match=r"from 01:00 to 02:00"):
        wall_time_to_utc(wall(2026, 3, 29, 1, 30), LONDON)
    with pytest.raises(AmbiguousTimeError, match=r"BST.*GMT"):
        wall_time_to_utc(wall(2026, 10, 25, 1, 30), LONDON)


def test_a_gap_policy_does_not_resolve_a_fold_nor_the_reverse():
    with pytest.raises(AmbiguousTimeError):
        wall_time_to_utc(wall(2026, 11, 1, 1, 30), NEW_YORK, gap=Gap.SHIFT_FORWARD)
    with pytest.raises(NonExistentTimeError):
        wall_time_to_utc(wall(2026, 3, 8, 2, 30), NEW_YORK, fold=Fold.LATER)


# -- a lab's day --------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "day", "start", "hours"),
    [
        (KOLKATA, dt.date(2026, 3, 8), utc(2026, 3, 7, 18, 30), 24),
        (NEW_YORK, dt.date(2026, 3, 8), utc(2026, 3, 8, 5), 23),
        (NEW_YORK, dt.date(2026, 11, 1), utc(2026, 11, 1, 4), 25),
        (LONDON, dt.date(2026, 3, 29), utc(2026, 3, 29, 0), 23),
        (LONDON, dt.date(2026, 10, 25), utc(2026, 10, 24, 23), 25),
        # Midnight skipped: the day starts at 01:00 local.
        (HAVANA, dt.date(2026, 3, 8), utc(2026, 3, 8, 5), 23),
        # Midnight shown twice: the day starts at the first one.
        (HAVANA, dt.date(2026, 11, 1), utc(2026, 11, 1, 4), 25),
    ],
)
def test_a_labs_day_in_utc_lasts_23_24_or_25_hours(zone, day, start, hours):
    bounds = local_day_bounds(day, zone)

    assert bounds == (start, start + hours * HOUR)
    assert all(moment.tzinfo is dt.UTC for moment in bounds)
    # The bounds are exact: the second before belongs to the day before, the
    # first and last seconds to the day, the end to the next day.
    assert (bounds[0] - SECOND).astimezone(zone).date() == day - dt.timedelta(days=1)
    assert bounds[0].astimezone(zone).date() == day
    assert (bounds[1] - SECOND).astimezone(zone).date() == day
    assert bounds[1].astimezone(zone).date() == day + dt.timedelta(days=1)


def test_a_range_of_lab_days_spans_the_clock_change():
    start, end = local_range_bounds(dt.date(2026, 3, 7), dt.date(2026, 3, 9), NEW_YORK)

    assert start == local_day_bounds(dt.date(2026, 3, 7), NEW_YORK)[0]
    assert end == local_day_bounds(dt.date(2026, 3, 9), NEW_YORK)[1]
    assert end - start == 71 * HOUR


def test_a_range_that_ends_before_it_starts_is_an_error():
    with pytest.raises(ValueError, match=r"ends \(2026-03-07\) before it starts"):
        local_range_bounds(dt.date(2026, 3, 9), dt.date(2026, 3, 7), NEW_YORK)
