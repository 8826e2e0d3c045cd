"""The registry of named PDF reports that `/core/pdf/` may render.

A client asks for a report by name ("patients.summary"), never by template
path, so it cannot make the server render an arbitrary template (the admin's,
an e-mail's) with data of its choosing. Domain apps register their reports in
their `AppConfig.ready()`:

    from core.utils.pdf.registry import register_report

    class PatientsConfig(AppConfig):
        def ready(self) -> None:
            register_report(
                "patients.summary", "patients/reports/summary.html", max_pages=20
            )

A report the server renders for itself, from its own rows (a released
report's PDF), is registered with `requestable=False`: it is listed by
`all_reports()`, so that the checks every report must pass (tests, the
benchmark) find it, but no client can ask for it (UnknownReport), or it
could print any values it liked on a report that looks released.

A requestable report's template extends `core/pdf/base_report.html` and
reads the client's JSON context under `data`; autoescaping stays on, so a value in the
context never becomes markup. What a client sends for one report is a
`ReportRequest` (`ReportRequest.from_json` checks it, with messages for
people); `core.utils.pdf.registered.render_report` renders one.

Every process imports this module at start-up (through the apps' ready()),
so it holds nothing but names and checks: importing it loads no WeasyPrint
(the package re-exports its renderer lazily, core/utils/pdf/__init__.py).

The registry is a plain dict filled while apps load (one thread) and only
read afterwards, so reading it needs no lock.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.utils.json_input import OBJECT, TEXT, field_problems

#: "app.report": lower-case words of letters, digits and underscores, joined
#: by dots, the first naming the app that owns the report.
REPORT_NAME = re.compile(r"\A[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+\Z")
#: Longest report name, in characters (it is also the download's file name).
MAX_REPORT_NAME_CHARS = 100
#: The watermarks a client may ask for (null: none). A fixed list, so no
#: client can print its own words ("VERIFIED") across a lab's report.
WATERMARKS = ("DRAFT", "CORRECTED")
#: The fields of one report request and their JSON types: the report's
#: name, its data (an object; null for none), the watermark (null: none).
REQUEST_TYPES = {
    "report": TEXT,
    "context": OBJECT.or_null(),
    "watermark": TEXT.or_null(),
}
REQUEST_FIELDS = tuple(REQUEST_TYPES)
#: The key under which a report's template finds the client's context.
DATA_KEY = "data"


class UnknownReport(LookupError):
    """No report is registered under the name asked for."""

    def __init__(self, name: str) -> None:
        shown = name if len(name) <= MAX_REPORT_NAME_CHARS else name[:97] + "..."
        known = ", ".join(registered_reports()) or "none"
        super().__init__(
            f"There is no report named {shown!r}; the reports are: {known}."
        )
        self.name = name


@dataclass(frozen=True)
class RegisteredReport:
    """A report clients may ask for.

    `max_pages` is this report's own page limit, below
    settings.PDF_MAX_PAGES (a one-page summary that comes out at forty pages
    is wrong data, not a long report); None means only the global limit.

    Example:
    `RegisteredReport("patients.summary", "patients/reports/summary.html", 20)`.

    `requestable` is False for a report only the server renders (see the
    module docstring).
    """

    name: str
    template: str
    max_pages: int | None = None
    requestable: bool = True

    @property
    def filename(self) -> str:
        """The PDF's file name: the name with dots as dashes, e.g.
        "patients-summary.pdf" (a safe name by REPORT_NAME's rule)."""
        return self.name.replace(".", "-") + ".pdf"


_REPORTS: dict[str, RegisteredReport] = {}


def register_report(
    name: str,
    template: str,
    *,
    max_pages: int | None = None,
    requestable: bool = True,
) -> RegisteredReport:
    """Register `template` as the report `name` and return its entry.

    Registering the same name with the same template and limit again is
    harmless (an app's ready() may run twice in tests); the same name for
    another template is a programming error (ValueError), as are a badly
    formed name and a `max_pages` below 1.
    """
    if not isinstance(name, str) or len(name) > MAX_REPORT_NAME_CHARS:
        raise ValueError(
            f"A report name is text of at most {MAX_REPORT_NAME_CHARS} characters."
        )
    if not REPORT_NAME.match(name):
        raise ValueError(
            f"Report name {name!r} is not allowed; use lower-case dotted words "
            "starting with the app's label, such as 'patients.summary'."
        )
    if not template or not template.endswith(".html"):
        raise ValueError(
            f"Report {name!r} needs an HTML template path, such as "
            f"'patients/reports/summary.html', not {template!r}."
        )
    if max_pages is not None and (isinstance(max_pages, bool) or max_pages < 1):
        raise ValueError(
            f"max_pages of report {name!r} is {max_pages!r}; give a whole number "
            ">= 1, or None for settings.PDF_MAX_PAGES."
        )
    entry = RegisteredReport(name, template, max_pages, requestable)
    existing = _REPORTS.setdefault(name, entry)
    if existing != entry:
        raise ValueError(
            f"Report {name!r} is already registered with template "
            f"{existing.template!r} (max_pages={existing.max_pages}, "
            f"requestable={existing.requestable}); choose another name."
        )
    return existing


def unregister_report(name: str) -> None:
    """Remove the report `name` (no error if it is not registered): for
    tests that register a report of their own, and an app that withdraws one."""
    _REPORTS.pop(name, None)


def get_report(name: object) -> RegisteredReport:
    """The report registered as `name` that clients may ask for, or
    UnknownReport listing their names (the same for a server-only report).

    Example: `get_report("patients.summary").template` ->
    "patients/reports/summary.html".
    """
    report = _REPORTS.get(name) if isinstance(name, str) else None
    if report is None or not report.requestable:
        raise UnknownReport(name if isinstance(name, str) else repr(name))
    return report


def registered_reports() -> list[str]:
    """The names of the reports clients may ask for, sorted."""
    return sorted(name for name, report in _REPORTS.items() if report.requestable)


def all_reports() -> list[RegisteredReport]:
    """Every registered report, server-only ones included, by name: what a
    check of all reports (their texts, numbers, direction) goes through."""
    return [_REPORTS[name] for name in sorted(_REPORTS)]


class ReportRequestInvalid(ValueError):
    """A report request that is not of the documented shape; the message
    names the field and what it should be, and `fields` has each field's
    problems (`{"batch[2].context": ["Send a JSON object ..."]}`)."""

    def __init__(self, message: str, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.fields = fields or {}


@dataclass(frozen=True)
class ReportRequest:
    """One report to render: a registered report, the client's JSON context
    (dicts, lists, strings, numbers, booleans, null) and an optional watermark.

    Example: `ReportRequest.from_json({"report": "patients.summary",
    "context": {"patient": {"name": "Asha Rao"}}, "watermark": "DRAFT"})`.
    """

    report: RegisteredReport
    context: dict[str, Any] = field(default_factory=dict)
    watermark: str | None = None

    @classmethod
    def from_json(cls, value: object, where: str = "") -> "ReportRequest":
        """The request `value` (a decoded JSON object) describes; `where`
        (e.g. "batch[2]") prefixes the messages. Raises ReportRequestInvalid
        for a malformed request and UnknownReport for a name not registered.
        """
        prefix = f"{where}: " if where else ""
        if not isinstance(value, Mapping):
            raise ReportRequestInvalid(
                f'{prefix}a report request is a JSON object such as {{"report": '
                '"patients.summary", "context": {...}}.'
            )
        unknown = sorted(str(name) for name in value if name not in REQUEST_FIELDS)
        if unknown:
            raise ReportRequestInvalid(
                f"{prefix}unknown fields {', '.join(unknown)}; a report request "
                f"has only {', '.join(REQUEST_FIELDS)}."
            )
        problems = field_problems(value, REQUEST_TYPES, where)
        if problems:
            raise ReportRequestInvalid(
                "; ".join(f"{path}: {found[0]}" for path, found in problems.items()),
                problems,
            )
        name = value.get("report")
        if not name:
            raise ReportRequestInvalid(
                f"{prefix}'report' must name a report, such as 'patients.summary'."
            )
        context = value.get("context") or {}
        watermark = value.get("watermark")
        if watermark is not None and watermark not in WATERMARKS:
            raise ReportRequestInvalid(
                f"{prefix}'watermark' must be one of {', '.join(WATERMARKS)} or null."
            )
        return cls(report=get_report(name), context=context, watermark=watermark)

    def to_json(self) -> dict[str, Any]:
        """The request as `from_json` reads it back (for a background job)."""
        return {
            "report": self.report.name,
            "context": self.context,
            "watermark": self.watermark,
        }
