"""What BaseModel checks before a row is written, and how `set_values`
turns input into field values. Every rule answers with a ValidationError
keyed by field name, all problems of one save in one error, and nothing is
written:

- input (`convert`): each value converted by its field, strictly: text
  fields take text only (not 123, True, lists or dicts), integer fields
  and foreign-key ids whole numbers only (not 1.7 or True), a date is not a
  number, and a datetime without a time zone is read on the lab's clock
  (or refused when the row has no lab);
- mandatory fields (`missing_mandatory`): not None, and not blank after
  stripping whitespace;
- each changed field's own rules (`field_errors`): Django's `clean()` (type,
  max_length, choices, validators);
- relations (`missing_relations`): a changed foreign key names a row that
  exists, so a missing lab is a field error, not a crash later;
- uniqueness and constraints (`constraint_errors`): Django's
  `validate_unique` and `validate_constraints`, for the constraints whose
  fields changed (so an unchanged row costs no query);
- and a uniqueness race lost at the database (`unique_violation`): the
  IntegrityError read back into the same field error.

An update checks only what it changes: a loaded row's unchanged values were
checked when written, and a rule tightened since must not block an
unrelated edit.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist, ValidationError
from django.db import models
from django.db.models.constraints import BaseConstraint, UniqueConstraint
from django.db.models.fields import Field
from django.utils import timezone

from core.models.encrypted_fields import EncryptedTextField
from core.utils.date.zones import wall_time_to_utc

if TYPE_CHECKING:
    from django.db import IntegrityError

#: Fields that take text, and refuse anything else.
TEXT_FIELDS = (models.CharField, models.TextField, EncryptedTextField)
#: Fields that take whole numbers (a foreign key is checked by its target).
INTEGER_FIELDS = (models.IntegerField,)  # AutoFields and BigIntegerFields too


# -- input ----------------------------------------------------------------------


def convert(
    instance: models.Model, field: Field[Any, Any], name: str, value: Any,
    lab_id: Any,
) -> tuple[str, Any]:  # fmt: skip
    """The attribute to set for input `value` of `field` (given as `name`)
    and its converted value; a ValidationError with the field's own message
    when it cannot take the value. `lab_id` is the row's lab after this
    input, for reading a wall-clock datetime."""
    if value is None:
        if not field.null:
            raise ValidationError("This field cannot be null.", code="null")
        return name, None
    if not field.is_relation:
        converted = to_python(field, value)
        if isinstance(converted, dt.datetime) and timezone.is_naive(converted):
            converted = _on_lab_clock(instance, converted, lab_id)
        return name, converted
    related_model = field.related_model
    if isinstance(value, models.Model):
        is_expected_model = isinstance(related_model, type) and isinstance(
            value, related_model
        )
        if name == field.name and is_expected_model:
            return name, value
        raise ValidationError(
            f"Expected the id of a {getattr(related_model, '__name__', '')}, "
            f"got a {type(value).__name__}.",
            code="invalid",
        )
    target = field.target_field  # type: ignore[attr-defined]
    return field.attname, to_python(target, value)


def to_python(field: Field[Any, Any], value: Any) -> Any:
    """`field.to_python(value)`, after refusing the values Django would
    quietly turn into something else (123 -> "123", 1.7 -> 1, True -> 1);
    the field's own refusals, and the TypeError, ValueError or
    OverflowError a value of a type it was not written for raises, become
    ValidationErrors."""
    _refuse_wrong_kind(field, value)
    try:
        return field.to_python(value)
    except (TypeError, ValueError, OverflowError):
        raise ValidationError(
            f"A {field.get_internal_type()} cannot take this "
            f"{type(value).__name__} value; give a value of its type.",
            code="invalid",
        ) from None


def _refuse_wrong_kind(field: Field[Any, Any], value: Any) -> None:
    if isinstance(field, TEXT_FIELDS) and not isinstance(value, str):
        raise ValidationError(f"Give text, not {_kind(value)}.", code="invalid_type")
    if isinstance(field, INTEGER_FIELDS) and (
        isinstance(value, bool)
        or (isinstance(value, float | Decimal) and not _whole(value))
    ):
        raise ValidationError(
            f"Give a whole number, not {value!r}.", code="invalid_type"
        )
    if isinstance(field, models.DecimalField | models.FloatField) and isinstance(
        value, bool
    ):
        raise ValidationError("Give a number, not true or false.", code="invalid_type")


def _whole(number: float | Decimal) -> bool:
    """Whether `number` is a finite whole number (2.0, not 1.7, NaN or inf)."""
    try:
        return number == int(number)
    except (OverflowError, ValueError):
        return False


def _kind(value: Any) -> str:
    """What a JSON client would call `value`'s type, with its article."""
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float | Decimal):
        return "a number"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


def _on_lab_clock(
    instance: models.Model, wall: dt.datetime, lab_id: Any
) -> dt.datetime:
    """`wall` (no time zone) as the instant the row's lab clock showed it,
    with the lab zone's daylight-saving rules; refused without a lab."""
    zone = _lab_zone(instance, lab_id)
    if zone is None:
        raise ValidationError(
            "Give the time with its UTC offset (e.g. 2026-12-01T09:30+05:30): "
            "this record has no lab whose clock it could be read on.",
            code="naive_datetime",
        )
    try:
        return wall_time_to_utc(wall, zone)
    except ValueError as exc:  # a time skipped or repeated by a clock change
        raise ValidationError(str(exc), code="invalid_time") from None


def _lab_zone(instance: models.Model, lab_id: Any) -> Any:
    if lab_id is None:
        return None
    try:
        lab_field = instance._meta.get_field("lab")
    except FieldDoesNotExist:  # no lab: no lab clock
        return None
    try:
        return lab_field.related_model.get_cached_instance(lab_id).zone  # type: ignore[union-attr]
    except lab_field.related_model.DoesNotExist:  # type: ignore[union-attr]
        return None  # reported by missing_relations


# -- checks before a write ------------------------------------------------------


def missing_mandatory(instance: Any) -> dict[str, list[ValidationError]]:
    """Each mandatory field without a value: None, empty, or only spaces."""
    missing = {}
    for name in instance.mandatory_fields:
        field = instance._meta.get_field(name)
        value = getattr(instance, getattr(field, "attname", name))
        if value in Field.empty_values or (
            isinstance(value, str) and not value.strip()
        ):
            missing[name] = [
                ValidationError("This field is required.", code="required")
            ]
    return missing


def field_errors(instance: Any) -> dict[str, list[ValidationError]]:
    """Each filled, changed field's own rules (Django's `clean_fields`),
    setting the cleaned value. Empty fields are left to `mandatory_fields`
    and relations to `missing_relations`."""
    errors: dict[str, list[ValidationError]] = {}
    loaded = instance.loaded_state or {}
    for field in validated_fields(type(instance)):
        raw = getattr(instance, field.attname)
        if raw in field.empty_values or hasattr(raw, "resolve_expression"):
            continue  # empty, or an expression the database evaluates
        if field.attname in loaded and loaded[field.attname] == raw:
            continue  # unchanged since loaded
        try:
            setattr(instance, field.attname, field.clean(raw, instance))
        except ValidationError as exc:
            errors[field.name] = [
                _with_allowed_choices(field, error) for error in exc.error_list
            ]
    return errors


def missing_relations(instance: Any) -> dict[str, list[ValidationError]]:
    """Each changed foreign key naming a row that does not exist (one query
    per such key, none when the related row is loaded on the instance)."""
    errors = {}
    loaded = instance.loaded_state or {}
    for field in instance._meta.concrete_fields:
        if not field.many_to_one:
            continue
        value = instance.__dict__.get(field.attname)
        if value is None or (
            field.attname in loaded and loaded[field.attname] == value
        ):
            continue
        if field.is_cached(instance) and field.get_cached_value(instance).pk == value:
            continue
        related = field.related_model
        if not related._base_manager.filter(pk=value).exists():
            name = related._meta.verbose_name
            errors[field.name] = [
                ValidationError(
                    f"There is no {name} with id {value}.", code="does_not_exist"
                )
            ]
    return errors


def constraint_errors(
    instance: Any, skip: Collection[str] = ()
) -> dict[str, list[ValidationError]]:
    """Django's unique and constraint checks (one query each) for the
    constraints with a changed field (all of them for a new row), but those
    reading a field in `skip` (already refused: its value is no value)."""
    groups = constraint_fields(type(instance))
    if not groups:
        return {}
    changed, skipped = _changed_names(instance), set(skip)
    checked = set().union(
        *(names for names in groups if names & changed and not names & skipped)
    )
    if not checked:
        return {}
    exclude = {f.name for f in instance._meta.concrete_fields} - checked
    errors: dict[str, list[ValidationError]] = {}
    for check in (instance.validate_unique, instance.validate_constraints):
        try:
            check(exclude=exclude)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
    return _per_lab(type(instance), errors)


def unique_violation(
    model: type[models.Model], error: IntegrityError
) -> ValidationError | None:
    """The field error for a uniqueness race lost at the database (another
    transaction wrote the same value after our check), or None when `error`
    is about something else."""
    columns = _violated_columns(error)
    by_column = {f.column: f.name for f in model._meta.concrete_fields}
    names = frozenset(by_column.get(column, column) for column in columns)
    if names and names in constraint_fields(model):
        key, refusal = _unique_error(model, names)
        return ValidationError({key: [refusal]})
    return None


# -- helpers ----------------------------------------------------------------------

_VALIDATED_FIELDS: dict[type[models.Model], list[Field[Any, Any]]] = {}
_CONSTRAINT_FIELDS: dict[type[models.Model], list[frozenset[str]]] = {}
#: PostgreSQL's detail and SQLite's message of a unique violation.
_POSTGRES_KEY = re.compile(r"Key \((?P<columns>[^)]*)\)=")
_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (?P<columns>.*)$")


def validated_fields(model: type[models.Model]) -> list[Field[Any, Any]]:
    """The fields `field_errors` checks: editable, not relations. Memoised
    per model."""
    if model not in _VALIDATED_FIELDS:
        _VALIDATED_FIELDS[model] = [
            field
            for field in model._meta.concrete_fields
            if field.editable and not field.is_relation
        ]
    return _VALIDATED_FIELDS[model]


def constraint_fields(model: type[models.Model]) -> list[frozenset[str]]:
    """The field names of each uniqueness rule and constraint of `model`
    (unique fields but the primary key, unique_together, constraints).
    Memoised per model; empty for most, which then cost nothing."""
    if model not in _CONSTRAINT_FIELDS:
        groups = [
            frozenset({field.name})
            for field in model._meta.concrete_fields
            if field.unique and not field.primary_key
        ]
        groups += [frozenset(names) for names in model._meta.unique_together]
        groups += [
            frozenset(_constraint_names(model, constraint))
            for constraint in model._meta.constraints
        ]
        _CONSTRAINT_FIELDS[model] = [group for group in groups if group]
    return _CONSTRAINT_FIELDS[model]


def _constraint_names(
    model: type[models.Model], constraint: BaseConstraint
) -> set[str]:
    """The fields a constraint reads: a UniqueConstraint's fields, a check's
    condition's fields; every field for one built from expressions."""
    if isinstance(constraint, UniqueConstraint) and constraint.fields:
        return set(constraint.fields)
    condition = getattr(constraint, "condition", None)
    if condition is not None:
        return set(_q_references(condition)) & {
            f.name for f in model._meta.concrete_fields
        }
    return {f.name for f in model._meta.concrete_fields}


def _q_references(condition: Any) -> Iterable[str]:
    for child in getattr(condition, "children", ()):
        if isinstance(child, tuple):
            yield child[0].split("__")[0]
        else:
            yield from _q_references(child)


def _changed_names(instance: Any) -> set[str]:
    loaded = instance.loaded_state
    fields = instance._meta.concrete_fields
    if loaded is None:
        return {f.name for f in fields}
    return {
        f.name
        for f in fields
        if loaded.get(f.attname) != instance.__dict__.get(f.attname)
    }


def _per_lab(
    model: type[models.Model], errors: dict[str, list[ValidationError]]
) -> dict[str, list[ValidationError]]:
    """Django reports a (lab, X) uniqueness rule as a non-field error
    naming both; a lab's user reads it on X, "in this lab"."""
    kept = []
    for error in errors.pop(NON_FIELD_ERRORS, []):
        fields = (error.params or {}).get("unique_check")
        if error.code not in ("unique", "unique_together") or not fields:
            kept.append(error)
            continue
        key, refusal = _unique_error(model, frozenset(fields))
        errors.setdefault(key, []).append(refusal)
    if kept:
        errors[NON_FIELD_ERRORS] = kept
    return errors


def _unique_error(
    model: type[models.Model], group: frozenset[str]
) -> tuple[str, ValidationError]:
    """The field a uniqueness refusal belongs on (the one field besides the
    lab, else none) and its message: "A patient with this MRN already
    exists in this lab." (code "unique")."""
    names = sorted(group - {"lab"}) or sorted(group)
    fields = {f.name: f for f in model._meta.concrete_fields}
    labels = " and ".join(str(fields[name].verbose_name) for name in names)
    where = " in this lab" if "lab" in group else ""
    message = f"A {model._meta.verbose_name} with this {labels} already exists{where}."
    key = names[0] if len(names) == 1 else NON_FIELD_ERRORS
    return key, ValidationError(message, code="unique")


def _violated_columns(error: IntegrityError) -> list[str]:
    cause = error.__cause__
    diag = getattr(cause, "diag", None)
    detail = getattr(diag, "message_detail", None) or ""
    if getattr(diag, "sqlstate", None) == "23505":  # unique_violation
        match = _POSTGRES_KEY.search(detail)
        return (
            [c.strip().strip('"') for c in match["columns"].split(",")] if match else []
        )
    match = _SQLITE_UNIQUE.search(str(error))
    if match:
        return [part.strip().rsplit(".", 1)[-1] for part in match["columns"].split(",")]
    return []


def _with_allowed_choices(field: Any, error: ValidationError) -> ValidationError:
    """Django says a choice is invalid; add which values would be valid."""
    if error.code != "invalid_choice":
        return error
    allowed = ", ".join(str(value) for value, _ in field.flatchoices)
    return ValidationError(
        f"{error.messages[0]} Choose one of: {allowed}.", code="invalid_choice"
    )
