"""Values, units, ranges and identifiers keep their order in a right-to-left
report (issue 16 point 1): every registered report (server-only ones too),
rendered for an Arabic lab and read back in the order its glyphs are drawn
(left to right), shows each of them exactly as the lab's number format
writes it. Without isolation the bidi algorithm draws "10^3/µL" as
"µL/3^10" and "3.5–5.0" as "5.0–3.5".

A lab writing Arabic-Indic digits reads numbers right to left, each
number's own digits left to right: its ranges are drawn high end first
(on the left), as Arabic readers expect (core.utils.numbers)."""  # noqa: RUF002

import re

import pytest

from core.utils.numbers import format_number, format_numbers_in
from core.utils.pdf.registry import all_reports
from tests.patients.report_examples import EXAMPLES, drawn_text, report_lab

pytestmark = pytest.mark.django_db

#: What may touch a number on either side without being part of it.
NOT_NUMBER = r"[\w.,\u066b\u066c]"
#: Arabic-Indic digits and their decimal and group separators.
ARABIC_INDIC = "[\u0660-\u0669\u066b\u066c]"


def shown(value: str, text: str) -> bool:
    """Whether `text` has `value` exactly, not as part of a longer number."""
    return (
        re.search(rf"(?<!{NOT_NUMBER}){re.escape(value)}(?!{NOT_NUMBER})", text)
        is not None
    )


def drawn_right_to_left(written: str) -> str:
    """How a run of Arabic-Indic numbers and signs is drawn, left to right:
    the numbers and what is between them in reverse order, each number's
    digits as they are (Unicode bidi rule L2). A "<" is drawn mirrored
    (rule L4), but the PDF's text layer keeps the character it stands for."""
    runs = re.findall(rf"{ARABIC_INDIC}+|[^{ARABIC_INDIC[1:-1]}]+", written)
    return "".join(reversed(runs))


def test_every_registered_report_has_an_example() -> None:
    assert {report.name for report in all_reports()} == set(EXAMPLES)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_a_report_keeps_values_units_and_ranges_in_order_right_to_left(
    name: str,
) -> None:
    lab = report_lab("ar")
    example = EXAMPLES[name]

    text = drawn_text(example.render(lab))

    style = lab.number_style
    expected = [
        *example.verbatim,
        *(format_numbers_in(n, style) for n in example.numbers),
    ]
    assert [value for value in expected if not shown(value, text)] == [], text


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_arabic_indic_numbers_read_right_to_left_and_units_left_to_right(
    name: str,
) -> None:
    lab = report_lab("ar", digits="native")
    example = EXAMPLES[name]

    text = drawn_text(example.render(lab))

    style = lab.number_style
    numbers = [
        drawn_right_to_left(format_numbers_in(n, style)) for n in example.numbers
    ]
    assert [v for v in [*example.verbatim, *numbers] if not shown(v, text)] == [], text
    assert shown(format_number("13.2", style), text)
