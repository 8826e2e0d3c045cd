"""The one way of checking the JSON types of a request's values.

A view declares what each field of its body holds, as a `JsonField`, and
`field_problems` (or `check_fields`, which raises) compares a parsed body
with it, reporting every field at once, each with what was sent and what
would be right:

    SIGN_IN = {"username": TEXT, "password": TEXT, "lab_id": INTEGER.or_null()}
    check_fields({"username": 7, "password": "x"}, SIGN_IN)
    # ValidationError({"username": ["Send text (a JSON string, in double
    #                   quotes); this is an integer."]})

Types are JSON's own: text is a JSON string (7 is not text, "7" is not an
integer), an integer is a JSON number without a fraction and never true or
false, dates and times are ISO 8601 text. Fields absent from the body are
not checked (whether a field is required is the view's or the model's
rule); fields of the body that are not declared are not checked either.
`core.utils.json_input.model_fields` declares a model's fields this way.
"""

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_datetime, parse_time

#: An ISO 8601 calendar date, as DateField reads and writes it.
_ISO_DATE = re.compile(r"\A\d{4}-\d{2}-\d{2}\Z")
#: A decimal number written as text, as DecimalField reads it.
_DECIMAL_TEXT = re.compile(r"\A[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\Z")


class JsonKind(StrEnum):
    """What a field holds, in JSON terms."""

    TEXT = "text"
    INTEGER = "integer"
    NUMBER = "number"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    TIME = "time"
    OBJECT = "object"
    LIST = "list"
    ANY = "any"


#: What to send, by kind: the first half of every message.
_WANTED = {
    JsonKind.TEXT: "Send text (a JSON string, in double quotes)",
    JsonKind.INTEGER: "Send a whole number (a JSON integer, not quoted), such as 3",
    JsonKind.NUMBER: "Send a number (not quoted), such as 12.5",
    JsonKind.DECIMAL: 'Send a number, such as 12.5, or its text, such as "12.50"',
    JsonKind.BOOLEAN: "Send true or false",
    JsonKind.DATE: 'Send a date as text in the form YYYY-MM-DD, such as "1990-04-01"',
    JsonKind.DATETIME: (
        "Send a date and time as ISO 8601 text with its UTC offset, such as "
        '"2024-05-01T09:30:00+05:30"'
    ),
    JsonKind.TIME: 'Send a time of day as text in the form HH:MM[:SS], such as "09:30"',
    JsonKind.OBJECT: "Send a JSON object ({...})",
    JsonKind.LIST: "Send a JSON list ([...])",
}


@dataclass(frozen=True)
class JsonField:
    """The JSON type of one field: its kind, whether null is accepted, and,
    for a list, the field each item is (`items`).

    Example: `JsonField(JsonKind.LIST, items=TEXT)` is a list of texts;
    `INTEGER.or_null()` an integer or null.
    """

    kind: JsonKind
    null: bool = False
    items: "JsonField | None" = None

    def or_null(self) -> "JsonField":
        """This type, or null."""
        return replace(self, null=True)

    def problem(self, value: Any) -> str | None:
        """What is wrong with `value` for this field and what would be
        right, or None when it fits. Only the type (and, for dates and
        times, the form) is checked; ranges and choices are the model's."""
        if value is None:
            return None if self.null else f"{_WANTED[self.kind]}; null is not allowed."
        if _fits(self.kind, value):
            return None
        return f"{_WANTED[self.kind]}; this is {_described(self.kind, value)}."


TEXT = JsonField(JsonKind.TEXT)
INTEGER = JsonField(JsonKind.INTEGER)
NUMBER = JsonField(JsonKind.NUMBER)
DECIMAL = JsonField(JsonKind.DECIMAL)
BOOLEAN = JsonField(JsonKind.BOOLEAN)
DATE = JsonField(JsonKind.DATE)
DATETIME = JsonField(JsonKind.DATETIME)
TIME = JsonField(JsonKind.TIME)
OBJECT = JsonField(JsonKind.OBJECT)
LIST = JsonField(JsonKind.LIST)
ANY = JsonField(JsonKind.ANY, null=True)


def list_of(item: JsonField) -> JsonField:
    """A list whose every item is `item`: `list_of(TEXT)`."""
    return JsonField(JsonKind.LIST, items=item)


def field_problems(
    data: Mapping[str, Any], fields: Mapping[str, JsonField], where: str = ""
) -> dict[str, list[str]]:
    """Every problem of `data`'s declared fields, by field path (prefixed
    with `where`, e.g. "batch[2].report"); {} when all fit.

    Example: `field_problems({"version": True}, {"version": INTEGER})` ->
    `{"version": ["Send a whole number (...), such as 3; this is true."]}`.
    """
    problems: dict[str, list[str]] = {}
    for name, field in fields.items():
        if name not in data:
            continue
        path = f"{where}.{name}" if where else name
        _collect(data[name], field, path, problems)
    return problems


def check_fields(
    data: Mapping[str, Any], fields: Mapping[str, JsonField], where: str = ""
) -> None:
    """Raise a ValidationError with every problem `field_problems` finds
    (a 400 with `fields` on API routes); nothing when all fit."""
    problems = field_problems(data, fields, where)
    if problems:
        raise ValidationError(problems)


def _collect(
    value: Any, field: JsonField, path: str, problems: dict[str, list[str]]
) -> None:
    problem = field.problem(value)
    if problem is not None:
        problems[path] = [problem]
        return
    if field.items is not None and isinstance(value, list):
        for index, item in enumerate(value):
            _collect(item, field.items, f"{path}[{index}]", problems)


def _fits(kind: JsonKind, value: Any) -> bool:
    if kind is JsonKind.ANY:
        return True
    if kind is JsonKind.BOOLEAN:
        return isinstance(value, bool)
    if isinstance(value, bool):  # bool is an int in Python, never in JSON
        return False
    if kind is JsonKind.INTEGER:
        return isinstance(value, int)
    if kind is JsonKind.NUMBER:
        return isinstance(value, int | float)
    if kind is JsonKind.OBJECT:
        return isinstance(value, dict)
    if kind is JsonKind.LIST:
        return isinstance(value, list)
    if not isinstance(value, str):
        return kind is JsonKind.DECIMAL and isinstance(value, int | float)
    return _text_fits(kind, value)


def _text_fits(kind: JsonKind, value: str) -> bool:
    try:
        if kind is JsonKind.DATE:
            return bool(_ISO_DATE.match(value)) and bool(dt.date.fromisoformat(value))
        if kind is JsonKind.DATETIME:
            moment = parse_datetime(value)
            return moment is not None and moment.tzinfo is not None
        if kind is JsonKind.TIME:
            return parse_time(value) is not None
    except ValueError:  # the right form, but no such day or time
        return False
    if kind is JsonKind.DECIMAL:
        return bool(_DECIMAL_TEXT.match(value))
    return kind is JsonKind.TEXT


def _described(kind: JsonKind, value: Any) -> str:
    """What `value` is, in the words of a JSON user: "text", "true"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        if kind is JsonKind.INTEGER:
            return "a number with a decimal point or an exponent"
        return "a number"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if kind in (JsonKind.DATE, JsonKind.DATETIME, JsonKind.TIME, JsonKind.DECIMAL):
        return "text in another form"
    return "text"
