"""The JSON type each field of a Django model expects (see .fields).

`model_json_fields(Patient)` maps every concrete field's name, and a
foreign key's attname too (`lab` and `lab_id`), to its `JsonField`: text
for CharField / TextField (and EmailField, encrypted text, ...), an integer
for the integer fields and for a foreign key to an integer key, true/false
for BooleanField, ISO 8601 text for DateField / DateTimeField / TimeField,
any JSON for JSONField; null too where the field is nullable. A field class
may say what it holds with a `json_kind` attribute (a JsonKind), e.g. an
encrypted JSON field; a field of a kind not listed here accepts any JSON
and is left to its own `to_python`.
"""

from functools import cache
from typing import Any

from django.db.models import Field, Model

from core.utils.json_input.fields import JsonField, JsonKind

#: Field.get_internal_type() -> kind; subclasses report their base's type.
_KIND_BY_INTERNAL_TYPE = {
    **dict.fromkeys(
        (
            "CharField", "TextField", "SlugField", "UUIDField",
            "GenericIPAddressField", "FilePathField", "FileField", "ImageField",
        ),
        JsonKind.TEXT,
    ),
    **dict.fromkeys(
        (
            "AutoField", "BigAutoField", "SmallAutoField", "IntegerField",
            "BigIntegerField", "SmallIntegerField", "PositiveIntegerField",
            "PositiveBigIntegerField", "PositiveSmallIntegerField",
        ),
        JsonKind.INTEGER,
    ),
    "FloatField": JsonKind.NUMBER,
    "DecimalField": JsonKind.DECIMAL,
    "BooleanField": JsonKind.BOOLEAN,
    "DateField": JsonKind.DATE,
    "DateTimeField": JsonKind.DATETIME,
    "TimeField": JsonKind.TIME,
    "JSONField": JsonKind.ANY,
}  # fmt: skip


@cache
def model_json_fields(model: type[Model]) -> dict[str, JsonField]:
    """`model`'s concrete fields by name (and foreign keys by attname too),
    each with the JSON type it expects. Computed once per model.

    Example: `model_json_fields(Patient)["date_of_birth"]` ->
    `JsonField(JsonKind.DATE, null=True)`.
    """
    fields: dict[str, JsonField] = {}
    for field in model._meta.concrete_fields:
        expected = json_field_for(field)
        fields[field.name] = expected
        fields[field.attname] = expected
    return fields


def json_field_for(field: "Field[Any, Any]") -> JsonField:
    """The JSON type `field` expects (a foreign key: its target's)."""
    kind = getattr(field, "json_kind", None)
    if kind is None:
        target = field.target_field if field.is_relation else field  # type: ignore[attr-defined]
        kind = _KIND_BY_INTERNAL_TYPE.get(target.get_internal_type(), JsonKind.ANY)
    return JsonField(JsonKind(kind), null=field.null or kind is JsonKind.ANY)
