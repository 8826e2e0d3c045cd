"""Dates and times on reports, in the report's language (Django's locale
formats and translated month names; no other dependency)."""

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import formats, translation
from django.utils.translation import gettext_noop

from core.utils.date.zones import to_lab_time

#: Django's Hindi catalogue misspells three month names (सितमबर, नवमबर,
#: दिसमबर); core's catalogue, which Django consults before its own, corrects
#: them. Marked here so that makemessages keeps them in core's .po files.
MONTH_NAMES_CORRECTED = (
    gettext_noop("September"),
    gettext_noop("November"),
    gettext_noop("December"),
)
#: 24-hour times on reports in every language: Django's Hindi catalogue
#: writes both AM and PM as "बजे", so a 12-hour clock would lose the half-day.
REPORT_TIME_FORMAT = "%H:%M"
#: Instants on admin pages (History, a report's Timeline): to the second, as
#: staff compare them with log lines, and with the zone's abbreviation.
LAB_CLOCK_FORMAT = "%Y-%m-%d %H:%M:%S"


def format_report_date(value: dt.date, language: str) -> str:
    """`value` as a report in `language` writes it (Django's DATE_FORMAT for
    that locale, month names translated).

    Example: date(2026, 3, 8) -> "March 8, 2026" (en), "8 مارس، 2026" (ar),
    "8 मार्च 2026" (hi).
    """
    with translation.override(check_language(language)):
        return formats.date_format(value, "DATE_FORMAT", use_l10n=True)


def format_report_datetime(value: dt.datetime, zone: ZoneInfo, language: str) -> str:
    """The instant `value` (aware) on the lab's clock, as a report in
    `language` writes it: date, 24-hour time and the zone's abbreviation,
    which tells the two 01:30s of a night the clocks go back apart.

    Example: 2026-11-01 06:30 UTC in America/New_York, "en" ->
    "Nov. 1, 2026 01:30 EST".
    """
    local = to_lab_time(value, zone)
    day = format_report_date(local.date(), language)
    return f"{day} {format_report_time(value, zone)}"


def format_report_time(value: dt.datetime, zone: ZoneInfo) -> str:
    """The instant `value` (aware) on the lab's clock as a 24-hour time and
    the zone's abbreviation, the same in every language (REPORT_TIME_FORMAT).

    Example: 2026-11-01 06:30 UTC in America/New_York -> "01:30 EST".
    """
    local = to_lab_time(value, zone)
    return f"{local.strftime(REPORT_TIME_FORMAT)} {local.tzname()}"


def format_lab_clock(value: dt.datetime, zone: ZoneInfo) -> str:
    """The instant `value` (aware) on the lab's clock for staff pages: ISO
    date, 24-hour time to the second and the zone's abbreviation (which
    tells the two 01:30s of a night the clocks go back apart).

    Example: 2026-12-04 07:10:03 UTC in Asia/Kolkata -> "2026-12-04
    12:40:03 IST".
    """
    local = to_lab_time(value, zone)
    return f"{local.strftime(LAB_CLOCK_FORMAT)} {local.tzname()}"


def check_language(language: str) -> str:
    """`language` if it is one of settings.LANGUAGES, else ValueError naming
    the valid codes. (Here rather than in core.utils.translation, which
    loads models: this module must stay importable from any models module.)"""
    codes = [code for code, _ in settings.LANGUAGES]
    if language not in codes:
        raise ValueError(
            f"{language!r} is not a language of this site; use one of: "
            f"{', '.join(codes)}."
        )
    return language
