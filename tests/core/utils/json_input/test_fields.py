"""core.utils.json_input.fields and .model_fields: the one check of JSON
types, every field reported at once with what would be right."""

import pytest
from django.core.exceptions import ValidationError

from core.utils.json_input import (
    ANY,
    BOOLEAN,
    DATE,
    DATETIME,
    DECIMAL,
    INTEGER,
    NUMBER,
    OBJECT,
    TEXT,
    TIME,
    JsonField,
    JsonKind,
    check_fields,
    field_problems,
    list_of,
    model_json_fields,
)
from patients.models import Patient
from tests.core.models.encrypted_record import SealedRecord
from tests.lifecycle.models import Instrument

pytestmark = pytest.mark.engine_independent

FITS = [
    (TEXT, ["", "Asha", "1 "]),
    (INTEGER, [0, -3, 2**53 - 1]),
    (NUMBER, [0, 1.5, -2]),
    (DECIMAL, [12, 12.5, "12.50", "-1e3", ".5"]),
    (BOOLEAN, [True, False]),
    (DATE, ["1990-04-01", "2024-02-29"]),
    (DATETIME, ["2024-05-01T09:30:00+05:30", "2024-05-01 09:30Z"]),
    (TIME, ["09:30", "23:59:59"]),
    (OBJECT, [{}, {"a": 1}]),
    (list_of(TEXT), [[], ["a", "b"]]),
    (ANY, [None, 1, "x", [1], {"a": None}]),
]
REFUSED = [
    (TEXT, [7, 1.5, True, {"x": 1}, ["a"]]),
    (INTEGER, [True, False, "1", "1 ", 1.0, 1e3, [1], {"a": 1}]),
    (NUMBER, [True, "1.5", []]),
    (DECIMAL, [True, "twelve", "1.2.3", "", [1]]),
    (BOOLEAN, [0, 1, "true", "false", None]),
    (DATE, [19900101, "1990-4-1", "01/04/1990", "2023-02-30", "0000-01-01"]),
    (DATE, ["1990-04-01T00:00", "1990-04-01 ", "+1990-04-01"]),
    (DATETIME, ["2024-05-01T09:30:00", "2024-05-01", "2024-13-01T09:30Z", 1714555800]),
    (TIME, ["9.30", "25:00", 930]),
    (OBJECT, [[], "{}", 1]),
    (list_of(TEXT), [{}, "a,b", [1], ["a", None]]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("field", "value"), [(field, value) for field, values in FITS for value in values]
)
def test_a_value_of_the_right_json_type_fits(field, value):
    assert field_problems({"f": value}, {"f": field}) == {}


@pytest.mark.parametrize(
    ("field", "value"),
    [(field, value) for field, values in REFUSED for value in values],
)
def test_a_value_of_another_json_type_is_refused(field, value):
    problems = field_problems({"f": value}, {"f": field})

    assert len(problems) == 1
    assert next(iter(problems)) in ("f", "f[0]", "f[1]")


def test_null_is_refused_unless_the_field_takes_it():
    fields = {"a": TEXT, "b": TEXT.or_null(), "c": INTEGER}

    problems = field_problems({"a": None, "b": None, "c": None}, fields)

    assert problems == {
        "a": ["Send text (a JSON string, in double quotes); null is not allowed."],
        "c": [
            "Send a whole number (a JSON integer, not quoted), such as 3; null is "
            "not allowed."
        ],
    }


def test_every_problem_is_named_with_what_was_sent_and_what_would_be_right():
    fields = {
        "first_name": TEXT,
        "version": INTEGER,
        "date_of_birth": DATE,
        "keys": list_of(TEXT),
        "fine": TEXT,
    }
    body = {
        "first_name": {"x": 1},
        "version": "1 ",
        "date_of_birth": 19900101,
        "keys": ["a", 7, "b", True],
        "fine": "yes",
        "undeclared": object(),
    }

    with pytest.raises(ValidationError) as excinfo:
        check_fields(body, fields, where="batch[2]")

    assert excinfo.value.message_dict == {
        "batch[2].first_name": [
            "Send text (a JSON string, in double quotes); this is an object."
        ],
        "batch[2].version": [
            "Send a whole number (a JSON integer, not quoted), such as 3; this is text."
        ],
        "batch[2].date_of_birth": [
            'Send a date as text in the form YYYY-MM-DD, such as "1990-04-01"; this '
            "is an integer."
        ],
        "batch[2].keys[1]": [
            "Send text (a JSON string, in double quotes); this is an integer."
        ],
        "batch[2].keys[3]": [
            "Send text (a JSON string, in double quotes); this is true."
        ],
    }


def test_a_version_sent_as_true_or_as_text_is_described_as_such():
    problems = field_problems(
        {"a": True, "b": "1 ", "c": 2.0}, dict.fromkeys("abc", INTEGER)
    )

    assert [message.split("; ")[1] for [message] in problems.values()] == [
        "this is true.",
        "this is text.",
        "this is a number with a decimal point or an exponent.",
    ]


def test_a_date_in_another_form_is_described_as_such():
    [message] = field_problems({"d": "01/04/1990"}, {"d": DATE})["d"]

    assert message.endswith("; this is text in another form.")


def test_a_models_fields_have_the_json_types_their_fields_expect():
    fields = model_json_fields(Patient)

    assert {name: (f.kind, f.null) for name, f in fields.items() if name in (
        "first_name", "phone", "date_of_birth", "version", "lab", "lab_id", "id",
        "created_at",
    )} == {
        "first_name": (JsonKind.TEXT, False),
        "phone": (JsonKind.TEXT, False),  # encrypted text is text
        "date_of_birth": (JsonKind.DATE, True),
        "version": (JsonKind.INTEGER, False),
        "lab": (JsonKind.INTEGER, False),  # a foreign key: its target's type
        "lab_id": (JsonKind.INTEGER, False),
        "id": (JsonKind.INTEGER, False),
        "created_at": (JsonKind.DATETIME, False),
    }  # fmt: skip
    assert model_json_fields(Instrument)["reading"] == JsonField(
        JsonKind.DECIMAL, null=Instrument._meta.get_field("reading").null
    )


def test_encrypted_fields_have_the_type_of_their_plaintext():
    fields = model_json_fields(SealedRecord)

    assert fields["results"] == ANY  # encrypted JSON: any JSON, null too
    assert fields["note"] == TEXT
    assert fields["code"] == TEXT.or_null()
