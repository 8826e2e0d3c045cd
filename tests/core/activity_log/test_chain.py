"""Each lab's entries form a hash chain, sealed apart from the saves; the
verify command finds an entry edited, deleted or reordered behind the app's
back."""

import itertools
import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from core.activity_log.chain import seal_lab, verify_lab
from core.activity_log.hashing import FORMAT_JCS, FORMAT_PYTHON_JSON
from core.models import ActivityLog, ActivityLogSeal
from patients.models import Patient
from tests.conftest import requires_postgresql

pytestmark = pytest.mark.django_db(transaction=True)


def make_history(lab, count: int = 3) -> Patient:
    patient = Patient(lab=lab, first_name="P0", sex="F")
    patient.save()
    for n in range(1, count):
        patient.first_name = f"P{n}"
        patient.save()
    seal_lab(lab.pk)
    return patient


def raw_sql(sql: str, params: list | None = None) -> None:
    """Write behind the application's back, with PostgreSQL's guard off."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE core_activitylog DISABLE TRIGGER USER")
        cursor.execute(sql, params or [])
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE core_activitylog ENABLE TRIGGER USER")


def test_sealing_gives_each_lab_a_contiguous_chain(labs):
    make_history(labs["north"], 4)

    seals = list(
        ActivityLogSeal.objects.filter(chain_lab_id=labs["north"].pk).order_by(
            "sequence"
        )
    )

    assert [s.sequence for s in seals] == [1, 2, 3, 4]
    assert all(b.previous_hash == a.entry_hash for a, b in itertools.pairwise(seals))
    assert verify_lab(labs["north"].pk) is None
    call_command("verify_activity_logs", "--lab", str(labs["north"].pk))


def test_an_entry_edited_in_the_database_is_found(labs, capsys):
    make_history(labs["north"], 3)
    victim = ActivityLog.objects.filter(lab_id=labs["north"].pk).order_by("id")[1]

    raw_sql(
        "UPDATE core_activitylog SET reason = %s WHERE id = %s",
        ["covered up", victim.id],
    )

    with pytest.raises(CommandError) as excinfo:
        call_command("verify_activity_logs")
    assert excinfo.value.returncode == 1
    assert f"entry {victim.id}): edited" in capsys.readouterr().err


def test_an_entry_deleted_in_the_database_is_found(labs):
    make_history(labs["north"], 3)
    victim = ActivityLog.objects.filter(lab_id=labs["north"].pk).order_by("id")[0]

    raw_sql("DELETE FROM core_activitylog WHERE id = %s", [victim.id])

    problem = verify_lab(labs["north"].pk)
    assert problem is not None and problem.problem.startswith("deleted")
    assert problem.sequence == 1


def test_swapped_entries_are_found(labs):
    make_history(labs["north"], 3)
    first, second = ActivityLog.objects.filter(lab_id=labs["north"].pk).order_by("id")[
        :2
    ]

    raw_sql(
        "UPDATE core_activitylog SET message = CASE id WHEN %s THEN %s ELSE %s END "
        "WHERE id IN (%s, %s)",
        [first.id, "swapped-b", "swapped-a", first.id, second.id],
    )

    assert verify_lab(labs["north"].pk).problem.startswith("edited")


@requires_postgresql
def test_postgresql_itself_refuses_updates_and_deletes_of_entries(labs):
    make_history(labs["north"], 1)

    statements = (
        "UPDATE core_activitylog SET reason = 'x'",
        "DELETE FROM core_activitylog",
        "DELETE FROM core_activitylogseal",
    )
    for statement in statements:
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement)


@requires_postgresql
def test_concurrent_sealers_of_one_lab_do_not_fork_the_chain(labs):
    # Forty pending entries, sealed by four sealers at once.
    with transaction.atomic():
        for n in range(40):
            Patient(lab=labs["south"], first_name=f"N{n}", sex="F").save()

    def sealer() -> None:
        try:
            seal_lab(labs["south"].pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=sealer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    sequences = list(
        ActivityLogSeal.objects.filter(chain_lab_id=labs["south"].pk)
        .order_by("sequence")
        .values_list("sequence", flat=True)
    )
    assert sequences == list(range(1, 41))
    assert not ActivityLog.objects.filter(
        lab_id=labs["south"].pk, sealed=False
    ).exists()
    assert verify_lab(labs["south"].pk) is None


def test_the_verify_command_seals_what_is_pending_first(labs):
    patient = Patient(lab=labs["south"], first_name="Q", sex="F")
    patient.save()
    pending = ActivityLog.objects.filter(lab_id=labs["south"].pk, sealed=False)
    assert pending.count() == 1

    call_command("verify_activity_logs", "--lab", str(labs["south"].pk))

    assert not pending.exists()
    assert ActivityLogSeal.objects.filter(chain_lab_id=labs["south"].pk).count() == 1


@requires_postgresql
def test_postgresql_allows_only_the_sealed_flag_to_flip_once(labs):
    make_history(labs["north"], 1)
    sealed = ActivityLog.objects.get(lab_id=labs["north"].pk)
    Patient(lab=labs["north"], first_name="Unsealed", sex="F").save()
    unsealed = ActivityLog.objects.get(lab_id=labs["north"].pk, sealed=False)

    for statement, entry in (
        ("UPDATE core_activitylog SET sealed = false WHERE id = %s", sealed),
        (
            "UPDATE core_activitylog SET sealed = true, reason = 'x' WHERE id = %s",
            unsealed,
        ),
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [entry.id])

    assert ActivityLog.objects.filter(id=unsealed.id).mark_sealed() == 1


# -- chain formats: history keeps its hashes ------------------------------------


def test_a_chain_sealed_in_format_1_and_then_in_format_2_verifies(labs):
    patient = Patient(lab=labs["north"], first_name="Old", sex="F")
    patient.save()
    seal_lab(labs["north"].pk, format=FORMAT_PYTHON_JSON)  # before the change
    patient.first_name = "New"
    patient.save()
    seal_lab(labs["north"].pk)

    formats = list(
        ActivityLogSeal.objects.filter(chain_lab_id=labs["north"].pk)
        .order_by("sequence")
        .values_list("format", flat=True)
    )
    assert formats == [FORMAT_PYTHON_JSON, FORMAT_JCS]
    assert verify_lab(labs["north"].pk) is None


@pytest.mark.parametrize("victim_index", [0, 1], ids=["format 1", "format 2"])
def test_an_edit_is_found_in_either_format(labs, victim_index):
    patient = Patient(lab=labs["north"], first_name="Old", sex="F")
    patient.save()
    seal_lab(labs["north"].pk, format=FORMAT_PYTHON_JSON)
    patient.first_name = "New"
    patient.save()
    seal_lab(labs["north"].pk)
    victim = ActivityLog.objects.filter(lab_id=labs["north"].pk).order_by("id")[
        victim_index
    ]

    raw_sql("UPDATE core_activitylog SET message = 'x' WHERE id = %s", [victim.id])

    problem = verify_lab(labs["north"].pk)
    assert problem is not None and problem.entry_id == victim.id
    assert problem.problem.startswith("edited")


def test_a_seal_in_an_older_format_after_a_newer_one_is_a_break(labs):
    make_history(labs["north"], 2)  # both format 2
    second = ActivityLogSeal.objects.get(chain_lab_id=labs["north"].pk, sequence=2)

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE core_activitylogseal DISABLE TRIGGER USER")
        cursor.execute(
            "UPDATE core_activitylogseal SET format = 1 WHERE id = %s", [second.id]
        )
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE core_activitylogseal ENABLE TRIGGER USER")

    problem = verify_lab(labs["north"].pk)
    assert problem is not None and problem.sequence == 2
    assert problem.problem == "format 1 after format 2"


def test_the_format_migration_keeps_every_stored_hash(labs):
    # Seals as the code before 0020 made them (format 1, no column); 0020
    # adds the column with format 1 for them and changes no hash.
    patient = Patient(lab=labs["north"], first_name="P0", sex="F")
    patient.save()
    patient.delete()
    seal_lab(labs["north"].pk, format=FORMAT_PYTHON_JSON)
    before = dict(ActivityLogSeal.objects.values_list("id", "entry_hash"))

    executor = MigrationExecutor(connection)
    executor.migrate([("core", "0019_documentdb_url_encrypted")])
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes("core"))

    assert dict(ActivityLogSeal.objects.values_list("id", "entry_hash")) == before
    assert set(ActivityLogSeal.objects.values_list("format", flat=True)) == {1}
    assert verify_lab(labs["north"].pk) is None
