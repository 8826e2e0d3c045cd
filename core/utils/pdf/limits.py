"""How much a report may hold, judged before anything is rendered.

A report's cost grows with what the client sends: WeasyPrint parses, styles
and builds boxes for every element of the HTML before it lays out the first
page (measured: about 0.15 ms per element; a 180 KB context of 6,400 result
rows made 64,000 elements and 12 s of work before page one), and only then
does the page limit (page_limit.py) apply. So each report is bounded in
proportion to its own page limit (`page_limit_of`: its `max_pages`, never
above settings.PDF_MAX_PAGES):

- its context: nested at most settings.PDF_MAX_CONTEXT_DEPTH deep, and at
  most settings.PDF_MAX_CONTEXT_VALUES_PER_PAGE values per page (every list
  item and every object member counts, nested ones too), checked before the
  template is rendered (`check_context`);
- its HTML: at most settings.PDF_MAX_HTML_ELEMENTS_PER_PAGE elements per
  page, counted as start tags without parsing, before WeasyPrint sees it
  (`check_elements`). Context values print escaped (autoescaping), so only
  the template's own markup counts.

Defaults leave about three times what a dense one-page table holds (33
result rows, ~170 elements and ~170 values per A4 page of
patients.summary). The settings are read at every check.
"""

import re
from typing import Any

from django.conf import settings

from core.utils.pdf.errors import PdfContextTooLarge, PdfTooManyElements
from core.utils.pdf.registry import RegisteredReport, ReportRequest

#: A start tag: "<" then a letter ("</p>", "<!--" and "<!DOCTYPE" are not).
START_TAG = re.compile(r"<[A-Za-z]")
#: What json.loads makes that holds other values.
_CONTAINERS = (dict, list)


def page_limit_of(report: RegisteredReport) -> int:
    """The most pages `report` may have: its own max_pages, capped by
    settings.PDF_MAX_PAGES. Example: 20 for patients.summary."""
    limit: int = settings.PDF_MAX_PAGES
    if report.max_pages is not None:
        return min(report.max_pages, limit)
    return limit


def check_context(request: ReportRequest) -> None:
    """Raise PdfContextTooLarge when the request's context is nested deeper
    than settings.PDF_MAX_CONTEXT_DEPTH or holds more values than
    settings.PDF_MAX_CONTEXT_VALUES_PER_PAGE times its report's page limit."""
    max_depth: int = settings.PDF_MAX_CONTEXT_DEPTH
    per_page: int = settings.PDF_MAX_CONTEXT_VALUES_PER_PAGE
    pages = page_limit_of(request.report)
    max_values = per_page * pages
    values, depth = _measure(request.context, max_depth, max_values)
    name = request.report.name
    if depth > max_depth:
        raise PdfContextTooLarge(
            f"The context of report {name!r} is nested more than {max_depth} "
            "levels deep (settings.PDF_MAX_CONTEXT_DEPTH); send flatter data.",
            setting="PDF_MAX_CONTEXT_DEPTH",
        )
    if values > max_values:
        raise PdfContextTooLarge(
            f"The context of report {name!r} holds more than {max_values:,} "
            f"values (list items and object members); at most {per_page:,} per "
            f"page are accepted (settings.PDF_MAX_CONTEXT_VALUES_PER_PAGE) for "
            f"its limit of {pages} pages. Send fewer rows, or split it into "
            "several reports.",
            setting="PDF_MAX_CONTEXT_VALUES_PER_PAGE",
        )


def count_elements(html: str) -> int:
    """The elements of `html`, counted as start tags. Example:
    `count_elements("<p>a <b>b</b></p>")` -> 2."""
    return sum(1 for _ in START_TAG.finditer(html))


def check_elements(html: str, pages: int) -> None:
    """Raise PdfTooManyElements when `html` has more elements than
    settings.PDF_MAX_HTML_ELEMENTS_PER_PAGE times `pages`."""
    per_page: int = settings.PDF_MAX_HTML_ELEMENTS_PER_PAGE
    elements = count_elements(html)
    if elements > per_page * pages:
        raise PdfTooManyElements(elements, per_page=per_page, pages=pages)


def _measure(context: Any, max_depth: int, max_values: int) -> tuple[int, int]:
    """(values, depth) of a decoded JSON value, walked level by level
    without recursion, and stopped as soon as either is over its limit (the
    counts are then only "more than"). Only containers are visited: a level's
    values are counted with len(), and its scalars are never touched one by
    one (a refused 180 KB context is judged in about a millisecond)."""
    values, depth = 0, 0
    level = [context] if type(context) in _CONTAINERS else []
    while level:
        depth += 1
        if depth > max_depth:
            break
        below: list[Any] = []
        for container in level:
            children = container.values() if type(container) is dict else container
            values += len(children)
            if values > max_values:
                return values, depth
            below += [child for child in children if type(child) in _CONTAINERS]
        level = below
    return values, depth
