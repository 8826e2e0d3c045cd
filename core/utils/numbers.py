"""Numbers on reports, written as the lab writes them: one formatter.

Every number a report prints (results, reference ranges, editions, the
digits of dates) goes through `format_number` / `format_numbers_in` /
`to_digits`, reached from templates by the `report_number` filter
(core/templatetags/lab_reports.py). Its style comes from the lab: its
language and its choice of digits (`Lab.digits`, Latin or the language's
own), so a lab's reports never disagree ("13,2" on one, "13.2" on another).

Separators and grouping are CLDR's (the Unicode Common Locale Data
Repository, what ICU, browsers and Java use), not Django's locale formats:
Django writes Arabic with a decimal comma ("13,2"), which CLDR gives only to
a few regional variants (ar_LB, ar_DZ, ...), while Arabic-speaking labs that
write Latin digits use the point ("13.2"), as CLDR's `ar` does. CLDR, per
language and numbering system (decimal, group, pattern):

    en latn   "."  ","  #,##0.###
    ar latn   "."  ","  #,##0.###     ar arab  "٫" U+066B  "٬" U+066C
    hi latn   "."  ","  #,##,##0.###  hi deva  "."  ","  (Indian grouping)

CLDR puts bidi marks (U+200E, U+061C) around Arabic signs so that they stay
put in right-to-left text; reports isolate every number instead, so the
signs here are plain. The isolate's direction is the digits' own
(`NumberStyle.direction`): Latin and Devanagari digits read left to right,
so "3.5–5.0" keeps its order even in an Arabic report; Arabic-Indic digits
are read right to left, each number's digits still left to right, so
"٣٫٥–٥٫٠" prints with its low end on the right and a minus or "<" in front
on the right, as Arabic readers read it. Numbers keep the precision they
are given: "4.50" prints two decimals, as the analyser reported it.
"""  # noqa: RUF002

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum

#: A number as data holds it (JSON, the database, Python's str()): an
#: optional minus, ASCII digits, an optional point and decimals. Not part
#: of a longer word or identifier ("P-1042", "HbA1c", "10^3").
MACHINE_NUMBER = re.compile(r"(?<![\w.^])-?[0-9]+(?:\.[0-9]+)?(?![\w^]|\.[0-9])")
_ASCII_DIGITS = "0123456789"


class Digits(StrEnum):
    """Which digits a lab's reports use: Latin (0-9) everywhere, or its
    language's own where it has them (Arabic-Indic for Arabic, Devanagari
    for Hindi)."""

    LATIN = "latin"
    NATIVE = "native"


@dataclass(frozen=True)
class NumberStyle:
    """How numbers are written: decimal and group separators, group sizes
    (the first group from the right, then every other), the digits 0-9, the
    CSS counter style writing page numbers in those digits, and the
    direction in which a run of them (a range, a signed number) is read.

    Example: `NumberStyle.of("hi", Digits.LATIN)` writes 1234567.5 as
    "12,34,567.5".
    """

    decimal: str = "."
    group: str = ","
    primary_group: int = 3
    secondary_group: int = 3
    digits: str = _ASCII_DIGITS
    counter_style: str = "decimal"
    direction: str = "ltr"

    @classmethod
    def of(cls, language: str, digits: Digits | str = Digits.LATIN) -> "NumberStyle":
        """The style of a report in `language` with `digits`; a language
        without digits of its own (English) always writes Latin ones."""
        style = _LATIN.get(language, cls())
        if Digits(digits) is Digits.NATIVE:
            style = _NATIVE.get(language, style)
        return style


#: CLDR's Latin-digit styles (module docstring); others are en's.
_LATIN = {"hi": NumberStyle(primary_group=3, secondary_group=2)}
#: CLDR's native-digit styles; WeasyPrint's predefined counter styles
#: (CSS Counter Styles 3) write page numbers in the same digits.
_NATIVE = {
    "ar": NumberStyle(
        decimal="\u066b",
        group="\u066c",
        digits="٠١٢٣٤٥٦٧٨٩",
        counter_style="arabic-indic",
        direction="rtl",
    ),
    "hi": NumberStyle(
        primary_group=3,
        secondary_group=2,
        digits="०१२३४५६७८९",
        counter_style="devanagari",
    ),
}


def has_native_digits(language: str) -> bool:
    """Whether `language` has digits of its own that a lab may choose."""
    return language in _NATIVE


def to_digits(text: str, style: NumberStyle) -> str:
    """`text` with its ASCII digits written in the style's digits; nothing
    else changes (for dates and times, whose separators are the language's).

    Example: `to_digits("2026-03-08", NumberStyle.of("ar", "native"))` ->
    "٢٠٢٦-٠٣-٠٨".
    """
    return text.translate(str.maketrans(_ASCII_DIGITS, style.digits))


def format_number(value: int | float | Decimal | str, style: NumberStyle) -> str:
    """`value` written in `style`: grouped, with the style's decimal
    separator and digits, keeping the decimals it has. A string must be a
    machine number ("13.2", "-0.25"); anything else is ValueError.

    Example: `format_number(Decimal("1234.50"), NumberStyle.of("ar",
    "native"))` -> "١٬٢٣٤٫٥٠"; `format_number(13.2, NumberStyle())` -> "13.2".
    """  # noqa: RUF002
    text = _machine_text(value)
    sign, text = ("-", text[1:]) if text.startswith("-") else ("", text)
    whole, _, decimals = text.partition(".")
    written = _grouped(whole, style)
    if decimals:
        written += style.decimal + decimals
    return to_digits(sign + written, style)


def format_numbers_in(text: str, style: NumberStyle) -> str:
    """`text` with every machine number in it written in `style`, the rest
    unchanged: a reference range, "<5.7", a result such as "1000 (high)".

    Example: `format_numbers_in("3.5–5.0", NumberStyle.of("ar", "native"))`
    -> "٣٫٥–٥٫٠"; "Positive" stays "Positive".
    """  # noqa: RUF002
    return MACHINE_NUMBER.sub(lambda found: format_number(found[0], style), text)


def _machine_text(value: int | float | Decimal | str) -> str:
    """`value` as a plain decimal string, e.g. 1e-05 -> "0.00001"."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number to print on a report.")
    if isinstance(value, str):
        if not MACHINE_NUMBER.fullmatch(value):
            raise ValueError(
                f"{value!r} is not a number as data writes it, such as '13.2'."
            )
        return value
    try:
        number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise ValueError(f"{value!r} is not a number to print on a report.") from None
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite number to print on a report.")
    return f"{number:f}"


def _grouped(whole: str, style: NumberStyle) -> str:
    """The integer digits `whole` with the style's group separators."""
    if len(whole) <= style.primary_group:
        return whole
    head, groups = whole[: -style.primary_group], [whole[-style.primary_group :]]
    while len(head) > style.secondary_group:
        groups.insert(0, head[-style.secondary_group :])
        head = head[: -style.secondary_group]
    return style.group.join([head, *groups])
