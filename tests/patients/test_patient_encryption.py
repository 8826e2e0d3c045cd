"""A patient's phone and email: encrypted in the database, the cache and the
activity log, found by phone or email through blind indexes, within the lab
scope."""

import json
from collections.abc import Iterator

import pytest

from core.models import ActivityLog
from core.tenancy import LabScope, trusted_scope
from core.utils.clients import registry
from core.utils.encryption import token_key_id
from patients.models import Patient, normalise_phone
from tests.cache_settings import cache_service
from tests.core.models.encrypted_record import stored_column
from tests.redis_servers import RedisServer, redis_server

pytestmark = pytest.mark.django_db

PHONE = "+919876543210"
EMAIL = "asha.rao@example.com"
#: How the phone and email could show up anywhere in clear.
CLEAR_FORMS = ("9876543210", "98765 43210", "asha.rao", "example.com")


def in_lab(lab) -> LabScope:
    """The scope of a job acting for `lab`."""
    return trusted_scope(lab.pk)


def new_patient(lab, **fields) -> Patient:
    values = {"first_name": "Asha", "last_name": "Rao", "sex": "F", **fields}
    patient = Patient(lab=lab, **values)
    patient.save()
    return patient


def test_the_phone_and_email_are_stored_encrypted(labs):
    patient = new_patient(
        labs["north"], phone="98765 43210", email="Asha.Rao@Example.COM"
    )

    for column in ("phone", "email"):
        raw = stored_column(patient, column)
        assert token_key_id(raw) is not None
        assert not any(clear in raw for clear in CLEAR_FORMS)
    row = Patient.objects.get(pk=patient.pk)
    assert (row.phone, row.email) == (PHONE, EMAIL)


@pytest.mark.parametrize(
    "written",
    [
        "+91 98765 43210",
        "+919876543210",
        "098765-43210",
        "98765 43210",
        "(0)9876543210",
    ],
)
def test_a_patient_is_found_by_phone_however_it_is_written(labs, written):
    patient = new_patient(labs["north"], phone="98765 43210")

    found = Patient.objects.find_by_phone(in_lab(labs["north"]), written)

    assert list(found) == [patient]


def test_find_by_phone_stays_within_the_lab_scope(labs):
    in_north = new_patient(labs["north"], phone=PHONE)
    in_clinic = new_patient(labs["north_clinic"], phone=PHONE, first_name="Child")
    new_patient(labs["south"], phone=PHONE, first_name="Sibling")
    new_patient(labs["other"], phone=PHONE, first_name="Elsewhere")

    def names_found_by(lab_name: str) -> set[str]:
        found = Patient.objects.find_by_phone(in_lab(labs[lab_name]), "98765 43210")
        return set(found.values_list("first_name", flat=True))

    assert set(Patient.objects.find_by_phone(in_lab(labs["north"]), PHONE)) == {
        in_north,
        in_clinic,
    }
    assert names_found_by("north_clinic") == {"Child"}
    assert names_found_by("central") == {"Asha", "Child", "Sibling"}
    # The other network is in GB: "98765 43210" is no number there...
    assert names_found_by("other") == set()
    # ...but written with its country code it finds that lab's own patient.
    found = Patient.objects.find_by_phone(in_lab(labs["other"]), "+91 98765 43210")
    assert set(found.values_list("first_name", flat=True)) == {"Elsewhere"}


def test_the_same_phone_and_email_in_two_labs_have_unrelated_indexes(labs):
    north = new_patient(labs["north"], phone=PHONE, email=EMAIL)
    south = new_patient(labs["south"], phone=PHONE, email=EMAIL)

    for column in ("phone_index", "email_index"):
        assert stored_column(north, column).startswith("v2:")
        assert stored_column(north, column) != stored_column(south, column)


def test_find_by_email_finds_children_never_the_parent_or_a_sibling(labs):
    for name in ("central", "north", "north_clinic", "south", "other"):
        new_patient(labs[name], email=EMAIL, first_name=name)

    def names_found_by(lab_name: str) -> set[str]:
        found = Patient.objects.find_by_email(trusted_scope(labs[lab_name].pk), EMAIL)
        return set(found.values_list("first_name", flat=True))

    assert names_found_by("central") == {"central", "north", "north_clinic", "south"}
    assert names_found_by("north") == {"north", "north_clinic"}
    assert names_found_by("north_clinic") == {"north_clinic"}
    assert names_found_by("south") == {"south"}


@pytest.mark.parametrize("written", ["", "   ", "12345", "not a phone", "+91"])
def test_a_number_that_cannot_be_dialled_finds_nobody(labs, written):
    new_patient(labs["north"], phone=PHONE)
    new_patient(labs["north"], first_name="No phone")

    assert not Patient.objects.find_by_phone(in_lab(labs["north"]), written).exists()


def test_a_patient_is_found_by_email_in_any_case(labs):
    patient = new_patient(labs["north"], email=EMAIL)
    new_patient(labs["other"], email=EMAIL)

    found = Patient.objects.find_by_email(
        in_lab(labs["north"]), "  ASHA.Rao@example.com "
    )

    assert list(found) == [patient]
    assert not Patient.objects.find_by_email(in_lab(labs["north"]), "").exists()


def test_changing_the_phone_moves_the_lookup(labs):
    patient = new_patient(labs["north"], phone=PHONE)

    patient.phone = "91234 56789"
    patient.save()

    assert not Patient.objects.find_by_phone(in_lab(labs["north"]), PHONE).exists()
    assert list(
        Patient.objects.find_by_phone(in_lab(labs["north"]), "+919123456789")
    ) == [patient]


def test_normalise_phone_is_the_one_before_save_uses():
    assert normalise_phone("098765 43210", "IN") == PHONE
    assert normalise_phone("+44 20 7946 0018", "IN") == "+442079460018"
    assert normalise_phone("12345", "IN") is None


def test_the_activity_log_holds_no_phone_or_email(labs):
    patient = new_patient(labs["north"], phone=PHONE, email=EMAIL)
    patient.phone, patient.email = "91234 56789", "other@example.com"
    patient.save()
    pk = patient.pk
    patient.delete()

    entries = ActivityLog.objects.filter(
        model_label="patients.patient", instance_id=str(pk)
    ).order_by("id")
    logged = json.dumps([entry.changes for entry in entries])

    assert [entry.action for entry in entries] == ["create", "update", "delete"]
    assert entries[1].changes == {
        "phone": {"old": "***", "new": "***"},
        "email": {"old": "***", "new": "***"},
    }
    for clear in (*CLEAR_FORMS, "91234", "other@", "enc1:"):
        assert clear not in logged


# -- the instance cache on a real Redis ------------------------------------------------


@pytest.fixture(scope="module")
def redis() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


@pytest.fixture
def redis_cache(settings, redis) -> Iterator[RedisServer]:
    redis.client().flushall()
    settings.SERVICES = {
        **settings.SERVICES,
        "cache": cache_service("redis", url=redis.url),
    }
    registry.reset()
    yield redis
    registry.reset()


@pytest.mark.django_db(transaction=True)  # real commits, so the cache is filled
def test_a_cached_patient_holds_no_plaintext_in_redis(labs, redis_cache):
    patient = new_patient(labs["north"], phone="98765 43210", email=EMAIL)
    Patient.get_cached_instance(patient.pk, labs["north"].pk)  # fills

    raw = redis_cache.client().hget(
        Patient.get_cache_key(labs["north"].pk), str(patient.pk)
    )

    assert raw is not None
    assert not any(clear.encode() in raw for clear in CLEAR_FORMS)
    assert b"enc1:" in raw
    cached = Patient.get_cached_instance(patient.pk, labs["north"].pk)
    assert (cached.phone, cached.email, cached.version) == (PHONE, EMAIL, 1)
    cached.first_name = "Asha Devi"
    cached.save()  # a cached instance saves like a loaded one
    assert Patient.objects.get(pk=patient.pk).phone == PHONE
