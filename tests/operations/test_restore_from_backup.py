"""Runbook "Restore the database from a backup" (docs/operations.md).

The class of defect: a runbook step that does not work. A backup is made
with `pg_dump` and restored with `pg_restore` (the runbook's own command),
while Redis holds rows newer than the restored ones and a checkpoint was
signed after the backup; the documented steps are run in order and each
outcome the runbook promises is checked: reads give the restored rows, the
next activity-log id is past the one Elasticsearch would hold, and
`verify_activity_logs` reports the checkpoint the restore contradicts.

PostgreSQL only: on SQLite a backup is a copy of the file, and the test
database lives in memory.
"""

import io
import re
import subprocess

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from core.models import ActivityLog
from patients.models import Patient
from tests.core.fusion.processes import database_url

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="a pg_dump / pg_restore runbook (SQLite: copy the file)",
    ),
    pytest.mark.django_db(transaction=True),
]

#: The runbook's step 4, with the id Elasticsearch reports as its highest.
MOVE_SEQUENCE_PAST = (
    "SELECT setval(pg_get_serial_sequence('core_activitylog', 'id'), "
    "GREATEST(%s, (SELECT max(id) FROM core_activitylog)))"
)


def run(*argv: str) -> None:
    done = subprocess.run(
        argv, capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr


def test_a_restore_run_as_documented_serves_the_restored_rows(
    labs, on_redis, signing, tmp_path
):
    lab = labs["north"]
    patient = Patient(lab=lab, first_name="Before", sex="F", phone="+919876543210")
    patient.save()
    call_command("checkpoint_activity_logs", "--now", stdout=io.StringIO())
    backup = tmp_path / "lis.dump"
    run("pg_dump", "--format=custom", f"--file={backup}", database_url())

    # After the backup: the row changes twice (and is cached at that
    # version), a patient is added, and a checkpoint is signed.
    for name in ("After", "After again"):
        patient.first_name = name
        patient.save()
    Patient(lab=lab, first_name="Lost", sex="M").save()
    assert Patient.get_cached_instance(patient.pk, lab.pk).first_name == "After again"
    call_command("checkpoint_activity_logs", "--now", stdout=io.StringIO())
    highest_shipped_id = ActivityLog.objects.order_by("-id").values_list(
        "id", flat=True
    )[0]

    # Step 2: restore.
    connection.close()
    run(
        "pg_restore", "--clean", "--if-exists", "--no-owner",
        f"--dbname={database_url()}", str(backup),
    )  # fmt: skip
    assert list(Patient.objects.values_list("first_name", flat=True)) == ["Before"]
    # the problem the runbook solves: the cache is ahead of the database
    assert Patient.get_cached_instance(patient.pk, lab.pk).first_name == "After again"

    # Step 4: the activity log's id sequence moved past Elasticsearch's ids.
    with connection.cursor() as cursor:
        cursor.execute(MOVE_SEQUENCE_PAST, [highest_shipped_id])
    # Step 5: the instance cache dropped.
    out = io.StringIO()
    call_command("cache_purge", stdout=out)

    # 1 hash, or 0 when a process's drain of pending invalidations dropped
    # it first (core/cache/retry.py): either way no old row is left to read.
    assert re.search(r"patients\.Patient: [01] hash\(es\) dropped", out.getvalue())
    restored = Patient.get_cached_instance(patient.pk, lab.pk)
    assert (restored.first_name, restored.phone) == ("Before", "+919876543210")
    Patient(lab=lab, first_name="New", sex="F").save()
    assert ActivityLog.objects.order_by("-id")[0].id > highest_shipped_id

    # Step 7: the checkpoint signed after the backup is reported.
    errors = io.StringIO()
    with pytest.raises(CommandError, match="chains are broken"):
        call_command("verify_activity_logs", stdout=io.StringIO(), stderr=errors)
    assert "FAIL truncated chain=" in errors.getvalue()
    assert "links after #" in errors.getvalue()
