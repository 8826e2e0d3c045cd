"""JSON request input: the one parser of bodies (`parser`), the one way of
checking the JSON types of their fields (`fields`) and a model's fields'
types (`model_fields`). README: "Sign-in, API keys and request handling"."""

from core.utils.json_input.fields import (
    ANY,
    BOOLEAN,
    DATE,
    DATETIME,
    DECIMAL,
    INTEGER,
    LIST,
    NUMBER,
    OBJECT,
    TEXT,
    TIME,
    JsonField,
    JsonKind,
    check_fields,
    field_problems,
    list_of,
)
from core.utils.json_input.model_fields import json_field_for, model_json_fields
from core.utils.json_input.parser import (
    MAX_DEPTH,
    MAX_SAFE_INTEGER,
    MalformedJson,
    key_path,
    parse_json_object,
    text_problem,
)

__all__ = [
    "ANY",
    "BOOLEAN",
    "DATE",
    "DATETIME",
    "DECIMAL",
    "INTEGER",
    "LIST",
    "MAX_DEPTH",
    "MAX_SAFE_INTEGER",
    "NUMBER",
    "OBJECT",
    "TEXT",
    "TIME",
    "JsonField",
    "JsonKind",
    "MalformedJson",
    "check_fields",
    "field_problems",
    "json_field_for",
    "key_path",
    "list_of",
    "model_json_fields",
    "parse_json_object",
    "text_problem",
]
