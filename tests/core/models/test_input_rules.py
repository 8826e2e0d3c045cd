"""Bad input at the model layer: each kind of value the model once stored as
something else, or crashed on, or reported one tier at a time, is a
field-keyed ValidationError, every problem of one input in one error, with
nothing written. A new field kind or check that lets a value through
changed, or raises anything but ValidationError, fails the property test
at the end.

The kinds: whitespace for a mandatory value, a number for a date, lists,
objects, booleans and numbers for text, 1.7 or true for an id, an id of a
lab that does not exist, a wall-clock time without a lab, a time a clock
change skipped, a duplicate of a per-lab unique value (checked, and lost
in a race at the database).
"""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.models import ActivityLog
from patients.models import Patient
from tests.conftest import make_lab
from tests.lifecycle.models import Instrument, Specimen, Tube

pytestmark = pytest.mark.django_db


def refused(instance, values) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as excinfo:
        instance.set_values(values)
    return excinfo.value.message_dict


def test_a_mandatory_value_of_only_whitespace_is_missing(labs):
    patient = Patient(lab=labs["north"], first_name=" \t ", sex="F")

    with pytest.raises(ValidationError) as excinfo:
        patient.save()

    assert excinfo.value.message_dict == {"first_name": ["This field is required."]}
    assert not Patient.objects.exists()


@pytest.mark.parametrize(
    ("value", "said"),
    [
        (123, "Give text, not a number."),
        (1.5, "Give text, not a number."),
        (True, "Give text, not true or false."),
        (["a", "b"], "Give text, not a list."),
        ({"a": 1}, "Give text, not an object."),
    ],
)
def test_text_fields_take_text_only(labs, value, said):
    patient = Patient(lab=labs["north"], first_name="Asha", sex="F")

    assert refused(patient, {"last_name": value}) == {"last_name": [said]}
    assert patient.last_name == ""


@pytest.mark.parametrize("value", [1.7, True, float("nan"), "1.7"])
def test_ids_and_integers_are_whole_numbers(labs, value):
    instrument = Instrument(name="A", serial="S")

    assert "channels" in refused(instrument, {"channels": value})
    assert "lab_id" in refused(Patient(), {"lab_id": value})


def test_whole_numbers_as_text_or_as_numbers_are_taken(labs):
    patient = Patient().set_values({"lab_id": str(labs["north"].pk)})
    instrument = Instrument().set_values({"channels": 4.0})

    assert (patient.lab_id, instrument.channels) == (labs["north"].pk, 4)


def test_an_id_of_a_lab_that_does_not_exist_is_a_field_error(labs):
    patient = Patient().set_values({"lab_id": 987654, "first_name": "A", "sex": "F"})

    with pytest.raises(ValidationError) as excinfo:
        patient.save()

    assert excinfo.value.message_dict == {"lab": ["There is no lab with id 987654."]}
    assert not Patient.objects.exists()


def test_every_problem_of_one_input_is_in_one_error(labs):
    """Conversion, the base checks and the model's own checks together: a
    client fixes everything after one answer, not four."""
    patient = Patient(lab=labs["north"], first_name="Asha", sex="F")
    patient.save()

    errors = refused(
        patient,
        {
            "first_name": 123,  # conversion
            "date_of_birth": 20260101,  # conversion
            "sex": "Q",  # the field's choices (base checks)
            "phone": "12",  # Patient's own check
            "colour": "red",  # no such field
        },
    )

    assert set(errors) == {"first_name", "date_of_birth", "sex", "phone", "colour"}
    patient.refresh_from_db()
    assert (patient.first_name, patient.sex, patient.phone) == ("Asha", "F", "")


def test_the_models_own_checks_come_with_the_base_checks_on_save(labs):
    future = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=400)
    patient = Patient(lab=labs["north"], first_name=" ", sex="F", date_of_birth=future)

    with pytest.raises(ValidationError) as excinfo:
        patient.save()

    assert set(excinfo.value.message_dict) == {"first_name", "date_of_birth"}


def test_a_wall_clock_time_is_read_on_the_labs_clock(labs):
    kolkata = make_lab("Kolkata lab", time_zone="Asia/Kolkata")
    specimen = Specimen(lab=kolkata, label="S").set_values(
        {"received_at": "2026-12-01 09:30"}
    )
    specimen.save()

    assert specimen.received_at == dt.datetime(2026, 12, 1, 4, 0, tzinfo=dt.UTC)
    specimen.refresh_from_db()
    assert specimen.received_at == dt.datetime(2026, 12, 1, 4, 0, tzinfo=dt.UTC)


def test_a_wall_clock_time_is_refused_without_a_lab_or_when_the_clock_skipped_it():
    london = make_lab("London lab", time_zone="Europe/London")

    without_lab = refused(Specimen(), {"received_at": "2026-12-01 09:30"})
    skipped = refused(Specimen(lab=london), {"received_at": "2026-03-29 01:30"})
    with_offset = Specimen(lab=london).set_values(
        {"received_at": "2026-03-29T01:30+00:00"}
    )

    assert "with its UTC offset" in without_lab["received_at"][0]
    assert "does not exist" in skipped["received_at"][0]
    assert with_offset.received_at.utcoffset() == dt.timedelta(0)


def test_a_duplicate_of_a_value_unique_per_lab_is_a_field_error(labs):
    Tube(lab=labs["north"], barcode="B-1").save()
    Tube(lab=labs["south"], barcode="B-1").save()  # another lab: allowed

    with pytest.raises(ValidationError) as excinfo:
        Tube(lab=labs["north"], barcode="B-1").save()

    assert excinfo.value.message_dict == {
        "barcode": ["A tube with this barcode already exists in this lab."]
    }
    assert excinfo.value.error_dict["barcode"][0].code == "unique"


def test_a_uniqueness_race_lost_at_the_database_is_the_same_field_error(labs):
    """Another writer inserts the barcode after this save's check and
    before its write (played here by the model's before_save hook)."""

    def other_writer(tube: Tube) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {Tube._meta.db_table} (lab_id, barcode, created_at,"  # noqa: S608
                " updated_at, version) VALUES (%s, %s, %s, %s, 1)",
                [tube.lab_id, tube.barcode, tube.updated_at, tube.updated_at],
            )

    tube = Tube(lab=labs["north"], barcode="B-2", updated_at=dt.datetime.now(dt.UTC))
    tube.before_write = other_writer

    with pytest.raises(ValidationError) as excinfo:
        tube.save()

    assert excinfo.value.message_dict == {
        "barcode": ["A tube with this barcode already exists in this lab."]
    }
    assert tube.pk is None
    assert not ActivityLog.objects.filter(model_label="lifecycle_tests.tube").exists()


def test_an_update_that_leaves_the_unique_fields_alone_queries_no_uniqueness(
    labs, django_assert_num_queries
):
    tube = Tube(lab=labs["north"], barcode="B-3")
    tube.save()
    tube = Tube.objects.get(pk=tube.pk)

    tube.collected_at = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    # The test's savepoint and its release, the UPDATE and the entry: no
    # uniqueness SELECT, no lab lookup.
    with django_assert_num_queries(4):
        tube.save()


# -- every value, every field -----------------------------------------------------

#: What a client or an import may send for any field.
ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.sampled_from(["2026-12-01", "2026-12-01 09:30", "01/12/2026", "3", " "]),
)
SETTABLE = {
    Patient: ["first_name", "last_name", "sex", "date_of_birth", "phone", "lab_id"],
    Specimen: ["label", "collected_on", "received_at", "volume_ml", "fasting"],
}


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    model=st.sampled_from(sorted(SETTABLE, key=lambda m: m.__name__)),
    data=st.data(),
)
def test_set_values_sets_values_of_the_fields_kind_or_refuses_them(labs, model, data):
    names = SETTABLE[model]
    values = data.draw(st.dictionaries(st.sampled_from(names), ANY_VALUE, min_size=1))
    instance = model(lab=labs["north"])
    try:
        instance.set_values(values)
    except ValidationError as exc:  # never TypeError, OverflowError, ...
        assert exc.message_dict
        return
    for name in values:
        field = model._meta.get_field(name.removesuffix("_id"))
        value = getattr(instance, field.attname)
        if value is None:
            continue
        kind = field.get_internal_type()
        if kind in ("CharField", "TextField"):
            assert isinstance(value, str)
        elif kind == "DateTimeField":
            assert value.utcoffset() is not None
        elif kind in ("ForeignKey", "IntegerField"):
            assert type(value) is int
        elif kind == "DateField":
            assert type(value) is dt.date
