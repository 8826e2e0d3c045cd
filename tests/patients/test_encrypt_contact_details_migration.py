"""Migration 0002 encrypts the phones and emails already stored in clear,
drops the lab's cached rows, and going back decrypts them again."""

import json

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from core.tenancy import LabScope, trusted_scope
from core.utils.clients import get_client
from core.utils.encryption import token_key_id
from patients.models import Patient
from tests.core.models.encrypted_record import stored_column

BEFORE = [("patients", "0001_initial")]
AFTER = [("patients", "0002_encrypt_contact_details")]


def in_lab(lab) -> LabScope:
    """The scope of a job acting for `lab`."""
    return trusted_scope(lab.pk)


def migrate(targets: list[tuple[str, str]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection)  # a fresh graph for the next step


@pytest.fixture
def at_0001(transactional_db):
    """patients at 0001 for the test; back at the latest migration after it."""
    migrate(BEFORE)
    yield MigrationExecutor(connection).loader.project_state(BEFORE).apps
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes("patients"))


def test_plaintext_rows_are_encrypted_and_can_be_decrypted_back(at_0001, labs):
    old_patient = at_0001.get_model("patients", "Patient")
    now = timezone.now()
    common = {"sex": "F", "created_at": now, "updated_at": now, "version": 1}
    asha = old_patient.objects.create(
        lab_id=labs["north"].pk,
        first_name="Asha",
        phone="+919876543210",
        email="asha@example.com",
        **common,
    )
    ben = old_patient.objects.create(
        lab_id=labs["north"].pk, first_name="Ben", phone="", email="", **common
    )
    cache = get_client("cache")
    key = f"Patient_CentreId{labs['north'].pk}_List"
    cache.fill(key, [(str(asha.pk), 1, json.dumps({"phone": "+919876543210"}))], 60)
    assert cache.get(key, str(asha.pk)) is not None

    migrate(AFTER)

    for row in (asha, ben):
        for column in ("phone", "email"):
            assert token_key_id(stored_column(row, column)) is not None
    assert "9876543210" not in stored_column(asha, "phone")
    for column in ("phone_index", "email_index"):  # per lab, nothing to re-index
        assert stored_column(asha, column).startswith("v2:")
    assert stored_column(ben, "phone_index") == ""
    migrated = Patient.objects.get(pk=asha.pk)
    assert (migrated.phone, migrated.email) == ("+919876543210", "asha@example.com")
    assert Patient.objects.get(pk=ben.pk).phone == ""
    assert (
        migrated.encryption_context != Patient.objects.get(pk=ben.pk).encryption_context
    )
    assert list(
        Patient.objects.find_by_phone(in_lab(labs["north"]), "98765 43210")
    ) == [migrated]
    assert list(
        Patient.objects.find_by_email(in_lab(labs["north"]), "ASHA@example.com")
    ) == [migrated]
    assert cache.get(key, str(asha.pk)) is None  # the old cached row is gone

    migrate(BEFORE)

    assert stored_column(asha, "phone") == "+919876543210"
    assert stored_column(asha, "email") == "asha@example.com"
    assert stored_column(ben, "phone") == ""
