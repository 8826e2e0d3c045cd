"""`manage.py reindex_blind_indexes`: rows holding the global blind indexes an
older release wrote are rewritten per lab, in batches with progress,
resumably, without activity log entries and with the cache invalidated;
lookups find every row before, during and after, and `--dry-run` says when
the transition is over."""

import io

import pytest
from django.core.management import CommandError, call_command

from core.models import ActivityLog
from core.tenancy import trusted_scope
from core.utils.blind_index import global_blind_index
from patients.models import Patient
from tests.core.models.encrypted_record import (
    new_key,
    overwrite_column,
    stored_column,
)

pytestmark = [
    pytest.mark.django_db,
    # Every model with encrypted fields is visited, the test-only one too.
    pytest.mark.usefixtures("encryption_keys", "sealed_record_table"),
]

PHONE = "+919876543210"
EMAIL = "asha@example.com"
DONE = (
    "No global blind index is left: the transition is over. Set "
    "LIS_BLIND_INDEX_LEGACY_LOOKUPS=off so lookups stop matching them."
)


def make_legacy_patient(lab, name: str) -> Patient:
    """A patient as an older release stored it: global blind indexes."""
    patient = Patient(lab=lab, first_name=name, sex="F", phone=PHONE, email=EMAIL)
    patient.save()
    for column, value in (("phone_index", PHONE), ("email_index", EMAIL)):
        domain = f"patients.patient|{column.removesuffix('_index')}"
        overwrite_column(patient, column, global_blind_index(value, domain=domain))
    return patient


@pytest.fixture
def legacy(labs) -> dict[str, Patient]:
    """One legacy patient per lab, all with the same phone and email."""
    return {name: make_legacy_patient(lab, name) for name, lab in labs.items()}


def reindex(*args: str, **options) -> str:
    out = io.StringIO()
    call_command("reindex_blind_indexes", *args, stdout=out, **options)
    return out.getvalue()


def found_by(labs, lab_name: str) -> set[str]:
    """Who each lookup finds from `lab_name`, by phone and by email (equal)."""
    by_phone = Patient.objects.find_by_phone(trusted_scope(labs[lab_name].pk), PHONE)
    by_email = Patient.objects.find_by_email(trusted_scope(labs[lab_name].pk), EMAIL)
    names = set(by_phone.values_list("first_name", flat=True))
    assert names == set(by_email.values_list("first_name", flat=True))
    return names


def assert_every_lookup_finds_its_scope(labs) -> None:
    assert found_by(labs, "central") == {"central", "north", "north_clinic", "south"}
    assert found_by(labs, "north") == {"north", "north_clinic"}
    assert found_by(labs, "north_clinic") == {"north_clinic"}
    assert found_by(labs, "south") == {"south"}
    assert found_by(labs, "other") == {"other"}


def per_lab_rows() -> int:
    return Patient.objects.filter(phone_index__startswith="v2:").count()


def test_lookups_find_every_row_before_during_and_after(labs, legacy):
    assert_every_lookup_finds_its_scope(labs)  # before: all global

    first = reindex("patients.patient", batch_size=2, limit=3)

    assert first.splitlines() == [
        "patients.patient: 2/5 rows",
        "patients.patient: 3/5 rows",
        "Stopped after --limit 3 rows; run again to continue.",
        "patients.patient: 3 rows re-indexed per lab.",
    ]
    assert per_lab_rows() == 3
    assert_every_lookup_finds_its_scope(labs)  # during: half re-indexed

    second = reindex("patients.patient", batch_size=2)

    assert second.splitlines() == [
        "patients.patient: 2/2 rows",
        "patients.patient: 2 rows re-indexed per lab.",
    ]
    assert per_lab_rows() == 5
    assert_every_lookup_finds_its_scope(labs)  # after


def test_after_the_transition_lookups_need_no_legacy_match(labs, legacy, settings):
    settings.BLIND_INDEX_LEGACY_LOOKUPS = False
    assert found_by(labs, "north") == set()  # why it stays on until the end

    reindex()

    assert_every_lookup_finds_its_scope(labs)
    phone_indexes = set(Patient.objects.values_list("phone_index", flat=True))
    assert len(phone_indexes) == 5  # nothing links the labs' patients any more


def test_dry_run_counts_the_rows_left_and_says_when_it_is_over(labs, legacy):
    before = {p.pk: stored_column(p, "phone_index") for p in legacy.values()}

    assert reindex("patients.patient", dry_run=True) == (
        "patients.patient: 5 rows have global blind indexes\n"
    )
    assert {p.pk: stored_column(p, "phone_index") for p in legacy.values()} == before

    reindex("patients.patient", limit=4)
    assert reindex("patients.patient", dry_run=True) == (
        "patients.patient: 1 rows have global blind indexes\n"
    )
    reindex("patients.patient")
    assert reindex("patients.patient", dry_run=True) == (
        f"patients.patient: 0 rows have global blind indexes\n{DONE}\n"
    )


class StopAfterFirstBatch(io.StringIO):
    """An output stream that stops the run, as Ctrl-C or a kill would, right
    after the first batch has committed and reported its progress."""

    def write(self, text: str) -> int:
        written = super().write(text)
        if "rows" in text:
            raise KeyboardInterrupt
        return written


def test_an_interrupted_run_is_finished_by_the_next(labs, legacy):
    with pytest.raises(KeyboardInterrupt):
        call_command(
            "reindex_blind_indexes",
            "patients.patient",
            batch_size=3,
            stdout=StopAfterFirstBatch(),
        )
    assert per_lab_rows() == 3
    done_first = {
        p.pk: stored_column(p, "phone_index")
        for p in Patient.objects.filter(phone_index__startswith="v2:")
    }

    assert "patients.patient: 2/2 rows" in reindex("patients.patient", batch_size=3)

    assert per_lab_rows() == 5
    assert {pk: stored_column(Patient(pk=pk), "phone_index") for pk in done_first} == (
        done_first  # nothing re-indexed twice
    )
    assert sorted(Patient.objects.values_list("version", flat=True)) == [2] * 5


def test_re_indexing_writes_no_activity_log_entry(labs, legacy):
    entries = ActivityLog.objects.count()

    reindex()

    assert ActivityLog.objects.count() == entries


def test_a_row_that_cannot_be_decrypted_is_reported_and_the_rest_re_indexed(
    labs, legacy
):
    broken = legacy["south"]
    overwrite_column(broken, "phone", stored_column(legacy["north"], "phone"))
    out = io.StringIO()

    with pytest.raises(CommandError) as excinfo:
        call_command("reindex_blind_indexes", stdout=out)

    message = str(excinfo.value)
    assert "1 rows could not be decrypted" in message
    assert f"patients.patient {broken.pk}" in message
    assert "98765" not in message and "98765" not in out.getvalue()
    assert per_lab_rows() == 4
    assert not stored_column(broken, "phone_index").startswith("v2:")


def test_a_legacy_row_that_moves_lab_is_indexed_under_its_new_lab(labs, legacy):
    moved = Patient.objects.get(pk=legacy["south"].pk)

    moved.lab = labs["north_clinic"]
    moved.save(update_fields=["lab"])

    assert stored_column(moved, "phone_index").startswith("v2:")
    assert found_by(labs, "north_clinic") == {"north_clinic", "south"}
    assert found_by(labs, "south") == set()
    assert "4 rows have global" in reindex("patients.patient", dry_run=True)


def test_bad_arguments_are_refused_with_what_would_be_right():
    with pytest.raises(CommandError, match=r"choose among: .*patients\.patient"):
        reindex("patients.visit")
    with pytest.raises(CommandError, match="must be at least 1"):
        reindex(limit=0)


@pytest.mark.django_db(transaction=True)  # real commits, so the cache is used
def test_cached_rows_are_invalidated(labs):
    patient = make_legacy_patient(labs["north"], "north")
    cached = Patient.get_cached_instance(patient.pk, labs["north"].pk)
    assert not cached.phone_index.startswith("v2:")  # cached with the global one

    reindex("patients.patient")

    cached = Patient.get_cached_instance(patient.pk, labs["north"].pk)
    assert cached.phone_index.startswith("v2:")
    assert cached.version == 2


def test_every_row_re_indexes_under_a_new_key_and_mixes_global_ones_in(
    labs, legacy, settings
):
    # Given rows indexed per lab under the old key, and one global index left
    reindex()
    overwrite_column(
        legacy["south"],
        "phone_index",
        global_blind_index(PHONE, domain="patients.patient|phone"),
    )

    # When the blind index key changes and every row is checked
    settings.BLIND_INDEX_KEY = new_key()
    assert found_by(labs, "north") == set()
    dry_run = reindex("--every-row", "--dry-run")
    output = reindex("--every-row")

    # Then every row is found again under the new key, with nothing left
    assert "patients.patient: 5 rows to check" in dry_run
    assert "transition is over" not in dry_run
    assert "patients.patient: 5 rows re-indexed per lab." in output
    assert_every_lookup_finds_its_scope(labs)
    assert "patients.patient: 0 rows re-indexed per lab." in reindex("--every-row")
