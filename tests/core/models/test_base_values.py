"""BaseModel: mandatory fields, field validation, set_values and get."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404

from patients.models import Patient
from tests.lifecycle.models import Instrument

pytestmark = pytest.mark.django_db


class NotFound(Exception):
    pass


def test_validate_mandatory_fields_names_every_missing_field_at_once():
    instrument = Instrument(name="", serial=None)

    with pytest.raises(ValidationError) as excinfo:
        instrument.validate_mandatory_fields()

    assert excinfo.value.message_dict == {
        "name": ["This field is required."],
        "serial": ["This field is required."],
    }


def test_a_missing_mandatory_foreign_key_is_named_by_its_field_name():
    patient = Patient(first_name="Asha", sex="F")

    with pytest.raises(ValidationError) as excinfo:
        patient.validate_mandatory_fields()

    assert excinfo.value.message_dict == {"lab": ["This field is required."]}


def test_validate_reports_mandatory_and_field_rule_errors_together():
    instrument = Instrument(name="x" * 51, serial="", channels=1)

    with pytest.raises(ValidationError) as excinfo:
        instrument.save()

    errors = excinfo.value.message_dict
    assert errors["serial"] == ["This field is required."]
    assert "at most 50 characters" in errors["name"][0]


def test_an_update_checks_the_values_it_changes_not_the_rows_old_ones(labs):
    """A rule tightened after a row was written (here: a sex code no longer
    among the choices, written around save) must not block an unrelated
    edit, and a changed value is still checked."""
    patient = Patient(lab=labs["north"], first_name="Asha", sex="F")
    patient.save()
    Patient.objects.filter(pk=patient.pk).update_without_hooks(sex="X")
    loaded = Patient.objects.get(pk=patient.pk)

    loaded.first_name = "Asha Rani"
    loaded.save()
    loaded.last_name = "y" * 101
    with pytest.raises(ValidationError) as excinfo:
        loaded.save()

    assert list(excinfo.value.message_dict) == ["last_name"]
    assert Patient.objects.get(pk=patient.pk).first_name == "Asha Rani"


def test_set_values_converts_each_value_with_its_field():
    instrument = Instrument()

    result = instrument.set_values(
        {
            "name": "Analyser",
            "serial": "SN-9",
            "calibrated_on": "2026-03-01",
            "reading": "12.5",
            "channels": "4",
        }
    )

    assert result is instrument
    assert instrument.calibrated_on == dt.date(2026, 3, 1)
    assert instrument.reading == Decimal("12.5")
    assert instrument.channels == 4


def test_set_values_reports_every_bad_value_and_sets_nothing():
    instrument = Instrument(name="Kept", serial="S", channels=2)

    with pytest.raises(ValidationError) as excinfo:
        instrument.set_values(
            {
                "name": "Changed",
                "channels": "four",
                "calibrated_on": "31/02/2026",
                "colour": "red",
            }
        )

    errors = excinfo.value.message_dict
    assert set(errors) == {"channels", "calibrated_on", "colour"}
    assert "must be an integer" in errors["channels"][0]
    assert "Instrument has no field 'colour'" in errors["colour"][0]
    assert (instrument.name, instrument.channels) == ("Kept", 2)


def test_set_values_reports_values_a_field_cannot_take_as_field_errors(labs):
    # Django's DateField and IntegerField raise TypeError / OverflowError
    # for these, not ValidationError: a Python caller gets them per field.
    instrument = Instrument(name="Kept", serial="S", channels=2)

    with pytest.raises(ValidationError) as excinfo:
        instrument.set_values(
            {"calibrated_on": 20260301, "channels": float("inf"), "name": "B"}
        )

    errors = excinfo.value.message_dict
    assert errors == {
        "calibrated_on": [
            "A DateField cannot take this int value; give a value of its type."
        ],
        "channels": ["Give a whole number, not inf."],
    }
    assert (instrument.name, instrument.channels) == ("Kept", 2)
    with pytest.raises(ValidationError) as foreign_key:
        Patient().set_values({"lab_id": float("-inf")})
    assert foreign_key.value.message_dict["lab_id"] == [
        "Give a whole number, not -inf."
    ]


@pytest.mark.parametrize("name", ["version", "created_at", "updated_at", "id"])
def test_set_values_refuses_fields_that_save_manages(name):
    instrument = Instrument(name="A", serial="S")

    with pytest.raises(ValidationError) as excinfo:
        instrument.set_values({name: 99})

    assert "cannot be set" in excinfo.value.message_dict[name][0]


def test_set_values_refuses_none_for_a_non_null_field():
    instrument = Instrument(name="A", serial="S")

    with pytest.raises(ValidationError) as excinfo:
        instrument.set_values({"channels": None, "reading": None})

    assert excinfo.value.message_dict == {"channels": ["This field cannot be null."]}


def test_set_values_sets_a_foreign_key_by_instance_or_by_id(labs):
    by_instance = Patient().set_values({"lab": labs["north"]})
    by_name_and_id = Patient().set_values({"lab": str(labs["north"].pk)})
    by_attname = Patient().set_values({"lab_id": labs["south"].pk})

    assert by_instance.lab == labs["north"]
    assert by_name_and_id.lab_id == labs["north"].pk
    assert by_attname.lab_id == labs["south"].pk


def test_set_values_refuses_an_instance_of_the_wrong_model(labs):
    patient = Patient(lab=labs["north"], first_name="A", sex="F")
    patient.save()

    with pytest.raises(ValidationError) as excinfo:
        Patient().set_values({"lab": patient})

    assert "Expected the id of a Lab, got a Patient" in excinfo.value.messages[0]


def test_get_returns_the_one_matching_row():
    instrument = Instrument(name="A", serial="S")
    instrument.save()

    assert Instrument.get(NotFound, serial="S") == instrument


def test_get_raises_the_given_exception_class_with_a_message_without_values():
    with pytest.raises(NotFound) as excinfo:
        Instrument.get(NotFound, serial="SECRET-123")

    assert str(excinfo.value) == "No Instrument matches the given serial."
    assert "SECRET" not in str(excinfo.value)


def test_get_raises_the_given_exception_instance_when_several_match():
    for serial in ("A", "B"):
        Instrument(name="Same", serial=serial).save()

    with pytest.raises(Http404, match="not here"):
        Instrument.get(Http404("not here"), name="Same")


def test_get_without_an_exception_raises_djangos_own():
    with pytest.raises(Instrument.DoesNotExist):
        Instrument.get(pk=123)
    for serial in ("A", "B"):
        Instrument(name="Same", serial=serial).save()
    with pytest.raises(Instrument.MultipleObjectsReturned):
        Instrument.get(name="Same")
