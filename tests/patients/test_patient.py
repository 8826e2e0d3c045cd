"""Patient: the sample domain model's hooks, and lab scoping."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from core.tenancy import trusted_scope
from core.utils.date import Age, today_in
from patients.models import Patient

pytestmark = pytest.mark.django_db


def new_patient(lab, **fields) -> Patient:
    values = {"first_name": "Asha", "last_name": "Rao", "sex": "F", **fields}
    return Patient(lab=lab, **values)


def test_before_save_tidies_names_and_stores_the_phone_in_e164(labs):
    patient = new_patient(
        labs["north"],
        first_name="  Asha  Devi ",
        phone="098765 43210",
        email="Asha@Example.COM",
    )

    patient.save()

    patient.refresh_from_db()
    assert patient.first_name == "Asha Devi"
    assert patient.phone == "+919876543210"
    assert patient.email == "asha@example.com"


def test_a_local_number_is_read_in_the_labs_country(labs):
    patient = new_patient(labs["other"], phone="020 7946 0018")

    patient.save()

    assert patient.phone == "+442079460018"


def test_a_phone_number_that_cannot_be_dialled_is_refused(labs):
    patient = new_patient(labs["north"], phone="12345")

    with pytest.raises(ValidationError) as excinfo:
        patient.save()

    assert "with its country code" in excinfo.value.message_dict["phone"][0]
    assert not Patient.objects.exists()


def test_a_date_of_birth_in_the_labs_future_is_refused(labs):
    tomorrow = today_in(labs["central"].zone) + dt.timedelta(days=1)
    patient = new_patient(labs["central"], date_of_birth=tomorrow)

    with pytest.raises(ValidationError) as excinfo:
        patient.save()

    assert "is in the future" in excinfo.value.message_dict["date_of_birth"][0]


def test_a_date_of_birth_over_130_years_ago_is_refused(labs):
    patient = new_patient(labs["central"], date_of_birth=dt.date(1850, 1, 1))

    with pytest.raises(ValidationError) as excinfo:
        patient.save()

    assert "over 130 years" in excinfo.value.message_dict["date_of_birth"][0]


def test_age_is_derived_from_the_date_of_birth(labs):
    patient = new_patient(labs["central"], date_of_birth=dt.date(2024, 2, 29))

    assert patient.age_on(dt.date(2026, 3, 15)) == Age(years=2, months=0, days=14)
    assert new_patient(labs["central"]).age is None


def test_mandatory_fields_are_named_together():
    with pytest.raises(ValidationError) as excinfo:
        Patient(first_name="", sex="").save()

    assert set(excinfo.value.message_dict) == {"lab", "first_name", "sex"}


def test_a_scope_sees_own_and_descendant_patients_only(labs):
    for name in ("central", "north", "south", "north_clinic", "other"):
        new_patient(labs[name], first_name=name).save()

    def names_seen_by(lab_name: str, **kwargs) -> set[str]:
        rows = Patient.objects.in_scope(trusted_scope(labs[lab_name].pk, **kwargs))
        return set(rows.values_list("first_name", flat=True))

    assert names_seen_by("central") == {"central", "north", "south", "north_clinic"}
    assert names_seen_by("north") == {"north", "north_clinic"}
    assert names_seen_by("south") == {"south"}
    assert names_seen_by("north", include_children=False) == {"north"}
    assert names_seen_by("other") == {"other"}


def test_another_labs_patient_looks_exactly_like_a_missing_one(labs):
    class NotFound(Exception):
        pass

    patient = new_patient(labs["south"])
    patient.save()

    north, central = trusted_scope(labs["north"].pk), trusted_scope(labs["central"].pk)
    with pytest.raises(NotFound) as not_yours:
        Patient.get_in_scope(north, NotFound, pk=patient.pk)
    with pytest.raises(NotFound) as missing:
        Patient.get_in_scope(north, NotFound, pk=patient.pk + 1000)
    with pytest.raises(NotFound) as malformed:
        Patient.get_in_scope(north, NotFound, pk="x")

    assert str(not_yours.value) == str(missing.value) == str(malformed.value)
    assert Patient.get_in_scope(central, NotFound, pk=patient.pk) == patient


@pytest.mark.django_db(transaction=True)  # real commits, so the cache is used
def test_patients_are_cached_per_lab_and_refreshed_after_a_save(
    labs, django_assert_num_queries
):
    patient = new_patient(labs["north"])
    patient.save()
    Patient.get_cached_instance(patient.pk, labs["north"].pk)
    with django_assert_num_queries(0):
        Patient.get_cached_instance(patient.pk, labs["north"].pk)

    patient.first_name = "Asha Devi"
    patient.save()

    cached = Patient.get_cached_instance(patient.pk, labs["north"].pk)
    assert (cached.first_name, cached.version) == ("Asha Devi", 2)
    with pytest.raises(Patient.DoesNotExist):
        Patient.get_cached_instance(patient.pk, labs["south"].pk)
