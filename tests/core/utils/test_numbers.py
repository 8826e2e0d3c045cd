"""The one number formatter of reports (core.utils.numbers): CLDR's
separators and grouping for each language and numbering system, the
lab's digits, numbers inside text, and what it refuses.

The expected strings are CLDR's (the Unicode Common Locale Data
Repository, e.g. ICU's `NumberFormat` for ar, ar-u-nu-arab, hi,
hi-u-nu-deva), written out here rather than computed."""

from decimal import Decimal

import pytest

from core.utils.numbers import (
    Digits,
    NumberStyle,
    format_number,
    format_numbers_in,
    has_native_digits,
    to_digits,
)

pytestmark = pytest.mark.engine_independent

EN = NumberStyle.of("en")
AR_LATIN, AR_NATIVE = NumberStyle.of("ar"), NumberStyle.of("ar", Digits.NATIVE)
HI_LATIN, HI_NATIVE = NumberStyle.of("hi"), NumberStyle.of("hi", "native")


@pytest.mark.parametrize(
    ("style", "value", "written"),
    [
        (EN, 1234567.5, "1,234,567.5"),
        (AR_LATIN, Decimal("13.2"), "13.2"),  # not Django's "13,2"
        (AR_LATIN, 12500, "12,500"),
        (AR_NATIVE, Decimal("1234.50"), "١٬٢٣٤٫٥٠"),  # noqa: RUF001
        (AR_NATIVE, "-0.25", "-٠٫٢٥"),  # noqa: RUF001
        (HI_LATIN, 1234567, "12,34,567"),  # Indian grouping: 3, then 2s
        (HI_NATIVE, "12345678.9", "१,२३,४५,६७८.९"),
        (EN, 999, "999"),
        (EN, 1000, "1,000"),
        (EN, 1e-05, "0.00001"),
        (EN, "4.50", "4.50"),  # the precision the analyser reported
    ],
)
def test_a_number_is_written_as_cldr_writes_it(style, value, written):
    assert format_number(value, style) == written


def test_english_has_no_native_digits_and_writes_latin_ones():
    assert not has_native_digits("en")
    assert has_native_digits("ar") and has_native_digits("hi")
    assert NumberStyle.of("en", "native") == EN


def test_numbers_inside_text_are_restyled_and_the_rest_kept():
    assert format_numbers_in("3.5–5.0", AR_NATIVE) == "٣٫٥–٥٫٠"  # noqa: RUF001
    assert format_numbers_in("<5.7", HI_NATIVE) == "<५.७"
    assert format_numbers_in("150 - 4500", EN) == "150 - 4,500"
    assert format_numbers_in("34 Y", AR_NATIVE) == "٣٤ Y"
    for kept in ("Positive", "HbA1c", "10^3/µL", "mL/min/1.73m²"):
        assert format_numbers_in(kept, AR_NATIVE) == kept


def test_only_the_digits_of_a_date_change():
    assert to_digits("2026-03-08 09:30", AR_NATIVE) == "٢٠٢٦-٠٣-٠٨ ٠٩:٣٠"
    assert to_digits("8 मार्च 2026", HI_NATIVE) == "८ मार्च २०२६"


@pytest.mark.parametrize(
    "value", ["13,2", "1e5", "twelve", "", float("nan"), float("inf"), True, None]
)
def test_what_is_not_a_number_is_refused(value):
    with pytest.raises(ValueError, match="number"):
        format_number(value, EN)


def test_arabic_indic_digits_read_right_to_left_in_their_own_isolate():
    assert (AR_NATIVE.direction, AR_NATIVE.counter_style) == ("rtl", "arabic-indic")
    assert (HI_NATIVE.direction, HI_NATIVE.counter_style) == ("ltr", "devanagari")
    assert AR_LATIN.direction == "ltr"
