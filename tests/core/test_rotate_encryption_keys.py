"""`manage.py rotate_encryption_keys`: every old value re-encrypted with the
newest key, in batches with progress, resumable after a stop, without
activity log noise, with the cache invalidated."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from core.models import ActivityLog
from core.utils.encryption import token_key_id
from patients.models import Patient
from tests.core.models.encrypted_record import (
    SealedRecord,
    overwrite_column,
    stored_column,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def keys(encryption_keys):
    """k1 configured; `keys.rotate_to("k1", "k2")` adds k2 as the newest."""
    return encryption_keys


def make_patients(lab, count: int) -> list[Patient]:
    patients = []
    for number in range(count):
        patient = Patient(
            lab=lab,
            first_name=f"P{number}",
            sex="F",
            phone=f"98765 4321{number}",
            email=f"p{number}@example.com",
        )
        patient.save()
        patients.append(patient)
    return patients


def key_ids(patients: list[Patient]) -> set[str | None]:
    return {
        token_key_id(stored_column(patient, column))
        for patient in patients
        for column in ("phone", "email")
    }


def rotate(*args: str, **options) -> str:
    out = io.StringIO()
    call_command("rotate_encryption_keys", *args, stdout=out, **options)
    return out.getvalue()


def test_every_row_is_re_encrypted_in_batches_with_progress(labs, keys):
    patients = make_patients(labs["north"], 5)
    keys.rotate_to("k1", "k2")

    output = rotate("patients.patient", batch_size=2)

    assert output.splitlines() == [
        "patients.patient: 2/5 rows",
        "patients.patient: 4/5 rows",
        "patients.patient: 5/5 rows",
        "patients.patient: 5 rows re-encrypted with key 'k2'.",
    ]
    assert key_ids(patients) == {"k2"}
    keys.rotate_to("k2")  # the old key can go
    assert {p.phone for p in Patient.objects.all()} == {
        f"+91987654321{n}" for n in range(5)
    }


def test_a_run_stopped_by_limit_is_finished_by_the_next_re_encrypting_nothing_twice(
    labs, keys
):
    patients = make_patients(labs["north"], 5)
    keys.rotate_to("k1", "k2")

    first = rotate("patients.patient", batch_size=2, limit=3)

    assert "patients.patient: 3/5 rows" in first
    assert "Stopped after --limit 3 rows; run again to continue." in first
    done = [p for p in patients if token_key_id(stored_column(p, "phone")) == "k2"]
    assert len(done) == 3
    tokens_of_done = {p.pk: stored_column(p, "phone") for p in done}

    second = rotate("patients.patient", batch_size=2)

    assert "patients.patient: 2 rows re-encrypted with key 'k2'." in second
    assert key_ids(patients) == {"k2"}
    assert {p.pk: stored_column(p, "phone") for p in done} == tokens_of_done
    assert sorted(Patient.objects.values_list("version", flat=True)) == [2] * 5


class StopAfterFirstBatch(io.StringIO):
    """An output stream that stops the run, as Ctrl-C or a kill would, right
    after the first batch has committed and reported its progress."""

    def write(self, text: str) -> int:
        written = super().write(text)
        if "rows" in text:
            raise KeyboardInterrupt
        return written


def test_an_interrupted_run_is_finished_by_the_next(labs, keys):
    patients = make_patients(labs["north"], 4)
    keys.rotate_to("k1", "k2")

    with pytest.raises(KeyboardInterrupt):
        call_command(
            "rotate_encryption_keys",
            "patients.patient",
            batch_size=3,
            stdout=StopAfterFirstBatch(),
        )

    assert Patient.objects.filter(phone__encrypted_with="k2").count() == 3
    assert "patients.patient: 1/1 rows" in rotate("patients.patient", batch_size=3)
    assert key_ids(patients) == {"k2"}
    assert sorted(Patient.objects.values_list("version", flat=True)) == [2] * 4


def test_rotation_writes_no_activity_log_entry_and_no_patient_data(labs, keys):
    make_patients(labs["north"], 2)
    entries_before = ActivityLog.objects.count()
    keys.rotate_to("k1", "k2")

    rotate("patients.patient")

    assert ActivityLog.objects.count() == entries_before
    logged = json.dumps(list(ActivityLog.objects.values_list("changes", flat=True)))
    for secret in ("98765", "+9198765", "example.com", "enc1:"):
        assert secret not in logged


def test_a_row_that_cannot_be_decrypted_is_reported_and_the_rest_rotated(labs, keys):
    good, broken, also_good = make_patients(labs["north"], 3)
    overwrite_column(broken, "phone", stored_column(good, "phone"))  # copied
    keys.rotate_to("k1", "k2")
    out = io.StringIO()

    with pytest.raises(CommandError) as excinfo:
        call_command("rotate_encryption_keys", "patients.patient", stdout=out)

    message = str(excinfo.value)
    assert "1 rows could not be decrypted with the configured keys" in message
    assert f"patients.patient {broken.pk}" in message
    assert "98765" not in message and "98765" not in out.getvalue()
    assert key_ids([good, also_good]) == {"k2"}
    assert token_key_id(stored_column(broken, "email")) == "k1"


def test_dry_run_counts_without_writing(labs, keys):
    patients = make_patients(labs["north"], 3)
    keys.rotate_to("k1", "k2")

    output = rotate("patients.patient", dry_run=True)

    assert output == "patients.patient: 3 rows use an older key\n"
    assert key_ids(patients) == {"k1"}
    rotate("patients.patient")
    assert rotate("patients.patient", dry_run=True) == (
        "patients.patient: 0 rows use an older key\n"
    )


@pytest.mark.usefixtures("sealed_record_table")
def test_without_labels_every_model_with_encrypted_fields_is_rotated(labs, keys):
    [patient] = make_patients(labs["north"], 1)
    record = SealedRecord(lab=labs["north"], label="R", note="n", results=[1])
    record.save()
    keys.rotate_to("k1", "k2")

    output = rotate()

    assert "patients.patient: 1 rows re-encrypted with key 'k2'." in output
    assert "lifecycle_tests.sealedrecord: 1 rows re-encrypted with key 'k2'." in output
    assert key_ids([patient]) == {"k2"}
    assert token_key_id(stored_column(record, "results")) == "k2"


def test_bad_arguments_are_refused_with_what_would_be_right(keys):
    with pytest.raises(CommandError, match=r"choose among: .*patients\.patient"):
        rotate("patients.visit")
    with pytest.raises(CommandError, match="must be at least 1"):
        rotate(batch_size=0)


@pytest.mark.django_db(transaction=True)  # real commits, so the cache is used
def test_cached_rows_are_invalidated_so_the_old_key_can_go(labs, keys):
    [patient] = make_patients(labs["north"], 1)
    Patient.get_cached_instance(patient.pk, labs["north"].pk)  # cached under k1
    keys.rotate_to("k1", "k2")

    rotate("patients.patient")
    keys.rotate_to("k2")

    cached = Patient.get_cached_instance(patient.pk, labs["north"].pk)
    assert cached.phone == "+919876543210"
