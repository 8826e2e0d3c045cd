"""One number format for a lab's reports (issue 16 point 3): every
registered report (server-only ones too), rendered for one lab, writes
every number the same way, the lab's way: its digits only, its decimal
separator, its grouping. An Arabic lab's release report printed "13,2"
(Django's Arabic locale) while its summary printed "13.2" (the client's
text): both now go through the lab's one formatter."""

import re

import pytest

from core.utils.numbers import NumberStyle, format_number
from tests.patients.report_examples import EXAMPLES, drawn_text, report_lab

pytestmark = pytest.mark.django_db

#: A number as any of the lab's styles may print it: digits of any of the
#: three scripts, with any of their separators between them.
DIGIT = r"[0-9\u0660-\u0669\u0966-\u096f]"
PRINTED_NUMBER = re.compile(rf"{DIGIT}+(?:[.,\u066b\u066c]{DIGIT}+)*")
#: (language, digits) of the labs checked.
LAB_STYLES = [("ar", "latin"), ("ar", "native"), ("hi", "latin"), ("hi", "native"),
              ("en", "latin")]  # fmt: skip


def printed_numbers(pdf: bytes, verbatim: list[str]) -> list[str]:
    """The numbers a report prints, but those inside units and identifiers
    (`verbatim`), which print the same everywhere."""
    text = drawn_text(pdf)
    for value in sorted(verbatim, key=len, reverse=True):
        text = text.replace(value, " ")
    return PRINTED_NUMBER.findall(text)


def misprinted(number: str, style: NumberStyle) -> bool:
    """Whether `number` is not as `style` writes it: a digit of another
    script, or separators that format_number would not put there (a year
    has none, so an unseparated number is only checked for its digits and
    a length no ungrouped value reaches)."""
    if any(
        not ch.isdigit()
        for ch in number.replace(style.group, "").replace(style.decimal, "")
    ) or any(ch.isdigit() and ch not in style.digits for ch in number):
        return True
    if number.isdigit():
        return len(number) > 4
    machine = number.translate(str.maketrans(style.digits, "0123456789"))
    machine = machine.replace(style.group, "").replace(style.decimal, ".")
    return format_number(machine, style) != number


@pytest.mark.parametrize(("language", "digits"), LAB_STYLES)
def test_every_number_on_a_labs_reports_is_written_the_labs_way(
    language: str, digits: str
) -> None:
    lab = report_lab(language, digits=digits)
    style = lab.number_style

    printed = {
        name: printed_numbers(example.render(lab), example.verbatim)
        for name, example in EXAMPLES.items()
    }

    wrong = {name: [n for n in found if misprinted(n, style)]
             for name, found in printed.items()}  # fmt: skip
    assert wrong == {name: [] for name in EXAMPLES}
    written = format_number("13.2", style)
    assert all(written in numbers for numbers in printed.values()), printed


def test_an_arabic_lab_writes_the_same_number_alike_on_every_report() -> None:
    lab = report_lab("ar")

    printed = [drawn_text(example.render(lab)) for example in EXAMPLES.values()]

    assert all("13.2" in text and "13,2" not in text for text in printed)
    assert all("1,500" in text for text in printed)  # grouped on both
