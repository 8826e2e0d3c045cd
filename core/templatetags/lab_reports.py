"""What report templates print through: `{% load lab_reports %}`.

Every registered report writes its labels, numbers and dates with these, so
that a report in any language reads right:

- `{% report_text "report.result" %}`: a report text (the catalogue of
  core.utils.translation) in the report's language, in the lab's own
  wording where it has one (`pdf.texts`: render_pdf's `texts`). Extra
  arguments fill its placeholders: `{% report_text "report.page_of"
  page=pdf.page_number pages=pdf.page_count %}`.
- `{{ value|report_number:pdf }}`: a number (int, float, Decimal, or text
  such as "13.2", "3.5 - 5.0", "<5.7") in the lab's separators and digits
  (core.utils.numbers: the one formatter of report numbers).
- `{{ day|report_date:pdf }}`, `{{ instant|report_datetime:pdf }}`: dates
  in the report's language and digits, instants on the lab's clock.

`pdf` is the ReportFrame render_pdf gives every report. The filters take it
as their argument, rather than reading it from the context, so that a
template which forgets it fails when it is loaded, not with a wrong number.
Values, units and ranges still need isolating in the template: a filter
returns text, and only the markup around it can keep a right-to-left
paragraph from reordering it. Units and identifiers sit in <bdi
dir="ltr">; numbers and ranges in <bdi dir="{{ pdf.numbers.direction }}">,
the direction their digits are read in (core.utils.numbers).
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from django import template
from django.template.context import Context
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe

from core.utils.date.formatting import format_report_date, format_report_time
from core.utils.date.zones import to_lab_time
from core.utils.numbers import format_number, format_numbers_in, to_digits
from core.utils.pdf.render import ReportFrame
from core.utils.translation import check_key, default_text

register = template.Library()


@register.simple_tag(takes_context=True)
def report_text(context: Context, key: str, **params: Any) -> SafeString:
    """The text `key` as the report's lab prints it, escaped, with `params`
    (escaped unless already safe) filled into its placeholders."""
    frame = _frame(context.get("pdf"))
    found = frame.texts.get(check_key(key))
    if found is None:  # a frame made without texts (render_pdf gives all)
        found = default_text(key, frame.language)
    text = conditional_escape(found)
    if not params:
        return text
    # Safe: the text is escaped above and every value filled in here.
    filled = text % {name: conditional_escape(v) for name, v in params.items()}
    return mark_safe(filled)  # noqa: S308


@register.filter
def report_number(value: object, pdf: ReportFrame) -> str:
    """`value` in the lab's number style; "" for None. Text is written with
    each number in it restyled and the rest kept ("Positive" stays)."""
    style = _frame(pdf).numbers
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return format_numbers_in(value, style)
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return format_number(value, style)
    return format_numbers_in(str(value), style)


@register.filter
def report_date(value: dt.date | None, pdf: ReportFrame) -> str:
    """The date `value` as the report's language writes it, in the lab's
    digits ("8 مارس، 2026", or "٨ مارس، ٢٠٢٦" with native digits)."""
    if value is None:
        return ""
    frame = _frame(pdf)
    return to_digits(format_report_date(value, frame.language), frame.numbers)


@register.filter
def report_datetime(value: dt.datetime | None, pdf: ReportFrame) -> SafeString:
    """The instant `value` on the lab's clock: its date (report_date) and
    its time and zone isolated in the digits' direction, so that "+03"
    keeps its sign in front in a right-to-left line."""
    if value is None:
        return mark_safe("")
    frame = _frame(pdf)
    local_day = to_lab_time(value, frame.zone).date()
    return format_html(
        '{} <bdi dir="{}">{}</bdi>',
        report_date(local_day, frame),
        frame.numbers.direction,
        to_digits(format_report_time(value, frame.zone), frame.numbers),
    )


def _frame(pdf: object) -> ReportFrame:
    """`pdf` if it is the report frame, else TypeError saying what to pass
    (a template outside render_pdf has none)."""
    if not isinstance(pdf, ReportFrame):
        raise TypeError(
            "Report filters and tags need the report frame: pass `pdf`, as in "
            "{{ value|report_number:pdf }}, in a template rendered by render_pdf."
        )
    return pdf
