"""Activity-log changes as a lab person reads them, resolved at display time.

Entries keep what was stored (ids, choice codes, UTC instants; see
core/models/activity_log_base.py) and are never rewritten; the pages that
show them (a record's History, a report's Timeline) turn each value into
text here:

- a choice into its label: `sex: Female`, not `F`;
- a related row's id into its name: `lab: North Collection Centre`, not
  `1`. Names are read in one query per related model for a whole page, and
  only among the rows of the labs the reader may read (`reader_lab_ids`):
  a row outside them, or one deleted since, shows as its id (`#7`), so a
  page never names another lab's patient;
- an instant on the lab's clock: `2026-12-04 12:40:03 IST`;
- anything else as text (JSON for lists and objects), at most
  MAX_VALUE_CHARS characters.

Example: `ChangeReader(Patient, lab_ids=(1, 2), zone=ZoneInfo("Asia/Kolkata"))
.describe([{"sex": {"old": None, "new": "F"}, "lab": {"old": None, "new": 2}}])`
-> `[(FieldChange("sex", "—", "Female"), FieldChange("lab", "—", "North"))]`.
"""

import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.http import HttpRequest
from django.utils.dateparse import parse_datetime

from core.tenancy.hierarchy import lab_model
from core.utils.date import format_lab_clock

#: Longest shown text of one old or new value (results lists get long).
MAX_VALUE_CHARS = 200
#: How a value that was not set reads.
NO_VALUE = "—"


@dataclass(frozen=True)
class FieldChange:
    """One field's change in an activity entry, as text for people:
    `field` is the field's verbose name (the key itself for a field the
    model no longer has)."""

    field: str
    old: str
    new: str


def reader_lab_ids(request: HttpRequest) -> tuple[int, ...] | None:
    """The labs whose rows the request's user may see named: its scope's
    labs (core.tenancy.LabScope); None (every lab) for a superuser acting
    for no lab, the operator the admin serves unscoped; none otherwise."""
    scope = getattr(request, "scope", None)
    if scope is not None:
        return tuple(scope.lab_ids)
    return None if getattr(request.user, "is_superuser", False) else ()


class ChangeReader:
    """Reads the `changes` of one model's entries for people (see the module
    docstring). `lab_ids` limits the related rows named (None: every lab);
    `zone` is the clock instants are shown on."""

    def __init__(
        self,
        model: type[models.Model],
        *,
        lab_ids: Collection[int] | None,
        zone: ZoneInfo,
    ) -> None:
        self.model = model
        self.lab_ids = lab_ids
        self.zone = zone

    def describe(
        self, changes_list: Sequence[Mapping[str, Any] | None]
    ) -> list[tuple[FieldChange, ...]]:
        """Each entry's changes (`{"sex": {"old": "M", "new": "F"}}`) as
        FieldChanges, in the entry's order; a value that is not an old/new
        pair is read as the new value. One query per related model named
        anywhere in `changes_list`."""
        pairs = [_pairs(changes or {}) for changes in changes_list]
        names = self._related_names(pairs)
        return [
            tuple(self._change(name, pair, names) for name, pair in entry.items())
            for entry in pairs
        ]

    def _change(
        self, name: str, pair: Mapping[str, Any], names: Mapping[str, dict[str, str]]
    ) -> FieldChange:
        field = self._field(name)
        label = str(field.verbose_name) if field is not None else name
        return FieldChange(
            label,
            self._value(field, pair.get("old"), names.get(name, {})),
            self._value(field, pair.get("new"), names.get(name, {})),
        )

    def _value(
        self, field: models.Field[Any, Any] | None, value: Any, names: dict[str, str]
    ) -> str:
        if value is None:
            return NO_VALUE
        if field is None:
            return display_value(value)
        if field.is_relation:
            return names.get(str(value), f"#{value}")
        if field.choices:
            return display_value(dict(field.flatchoices).get(value, value))
        if isinstance(field, models.DateTimeField) and isinstance(value, str):
            instant = parse_datetime(value)
            if instant is not None and instant.tzinfo is not None:
                return format_lab_clock(instant, self.zone)
        return display_value(value)

    def _field(self, name: str) -> models.Field[Any, Any] | None:
        try:
            field = self.model._meta.get_field(name)
        except FieldDoesNotExist:
            return None
        return field if isinstance(field, models.Field) else None

    def _related_names(
        self, pairs: Iterable[Mapping[str, Mapping[str, Any]]]
    ) -> dict[str, dict[str, str]]:
        """field name -> {str(id): the row's name} for every relation named
        in `pairs`, one query per related model, rows of the reader's labs
        only."""
        ids: dict[str, set[str]] = {}
        for entry in pairs:
            for name, pair in entry.items():
                field = self._field(name)
                if field is None or not field.is_relation or field.many_to_many:
                    continue
                found = ids.setdefault(name, set())
                found.update(
                    str(pair[side]) for side in ("old", "new") if pair.get(side)
                )
        by_model: dict[type[models.Model], set[str]] = {}
        for name, found in ids.items():
            related = self._related_model(name)
            by_model.setdefault(related, set()).update(found)
        named = {model: self._names(model, found) for model, found in by_model.items()}
        return {name: named[self._related_model(name)] for name in ids}

    def _related_model(self, name: str) -> type[models.Model]:
        field = self.model._meta.get_field(name)
        related: type[models.Model] = field.related_model  # type: ignore[assignment]
        return related

    def _names(self, model: type[models.Model], ids: set[str]) -> dict[str, str]:
        """{str(pk): str(row)} of the rows of `model` among `ids` that the
        reader's labs may see; one query (none when `ids` is empty)."""
        valid = [pk for pk in ids if pk.isdigit()] if _integer_pk(model) else list(ids)
        if not valid or self.lab_ids == ():
            return {}
        rows = model._base_manager.filter(pk__in=valid)
        if self.lab_ids is not None:
            rows = rows.filter(**_lab_filter(model, self.lab_ids))
        return {str(row.pk): str(row) for row in rows}


def _lab_filter(model: type[models.Model], lab_ids: Collection[int]) -> dict[str, Any]:
    """The filter keeping `model`'s rows of `lab_ids`: a lab itself by its
    id, a lab's row by its `lab`; rows of no lab are not lab data and stay."""
    if model is lab_model():
        return {"pk__in": list(lab_ids)}
    if any(field.attname == "lab_id" for field in model._meta.concrete_fields):
        return {"lab_id__in": list(lab_ids)}
    return {}


def _integer_pk(model: type[models.Model]) -> bool:
    return isinstance(model._meta.pk, models.AutoField | models.IntegerField)


def _pairs(changes: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {
        name: change if isinstance(change, dict) else {"new": change}
        for name, change in changes.items()
    }


def display_value(value: Any) -> str:
    """A logged value as text: "—" for none, strings as they are, anything
    else as JSON; at most MAX_VALUE_CHARS characters (cut with "…").

    Example: `display_value([{"test": "Hb", "value": 13}])` ->
    `'[{"test": "Hb", "value": 13}]'`.
    """
    if value is None:
        return NO_VALUE
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if len(text) > MAX_VALUE_CHARS:
        return text[: MAX_VALUE_CHARS - 1] + "…"
    return text


def record_zone(record: models.Model | None, request: HttpRequest) -> ZoneInfo:
    """The clock a record is read on: its lab's (a lab's own for a lab),
    else (no record, or a record of no lab) the reader's lab's, else UTC."""
    zone = getattr(record, "zone", None)
    if isinstance(zone, ZoneInfo):
        return zone
    lab_id = getattr(record, "lab_id", None)
    if lab_id is None:
        scope = getattr(request, "scope", None)
        lab_id = scope.lab_id if scope is not None else None
    if lab_id is None:
        return ZoneInfo("UTC")
    lab = lab_model().get_cached_instance(lab_id)
    return lab.zone


__all__ = [
    "MAX_VALUE_CHARS",
    "ChangeReader",
    "FieldChange",
    "display_value",
    "reader_lab_ids",
    "record_zone",
]
