"""Runbook "Rotate keys" (docs/operations.md), one test per kind of key.

The class of defect: a runbook step that does not work. Each test runs the
documented steps in order, changing settings where the runbook changes the
environment, and checks what the runbook promises: data stays readable and
findable, old checkpoints still verify, the receiver or integration can
switch, and what each rotation ends does end.
"""

import io

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command
from django.test import Client

from core.models import ApiKey
from core.utils.clients import registry
from core.utils.encryption import token_key_id
from patients.models import Patient
from tests.core.activity_log.keys import pem
from tests.core.middleware.fixtures import make_user, sign_in
from tests.core.models.encrypted_record import new_key, stored_column
from tests.core.webhooks.fixtures import all_finished, new_patient

#: The commands cover every model with encrypted fields, the test-only one too.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sealed_record_table")]

PHONES = ["+919876543210", "+919876543211", "+919876543212"]


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def make_patients(lab, phones) -> list[Patient]:
    patients = [Patient(lab=lab, first_name="P", sex="F", phone=p) for p in phones]
    for patient in patients:
        patient.save()
    return patients


def found(lab, phone: str) -> list[int]:
    return list(
        Patient.objects.with_phone(phone, ["IN"], [lab.pk]).values_list("pk", flat=True)
    )


def test_encryption_keys_rotate_online_and_the_old_key_can_go(
    labs, encryption_keys, settings
):
    keys, lab = encryption_keys, labs["north"]
    old = make_patients(lab, PHONES[:1])
    # Step 2: the new key first, so every process knows it; k1 still encrypts.
    settings.ENCRYPTION_KEYS = f"k2:{keys.k2},k1:{keys.k1}"
    between = make_patients(lab, PHONES[1:2])
    assert token_key_id(stored_column(between[0], "phone")) == "k1"
    # Step 3: the new key last; it encrypts.
    settings.ENCRYPTION_KEYS = f"k1:{keys.k1},k2:{keys.k2}"
    new = make_patients(lab, PHONES[2:])
    assert token_key_id(stored_column(new[0], "phone")) == "k2"

    # Steps 4 and 5.
    run("rotate_encryption_keys")
    dry_run = run("rotate_encryption_keys", "--dry-run")
    settings.ENCRYPTION_KEYS = f"k2:{keys.k2}"

    assert "patients.patient: 0 rows use an older key" in dry_run
    assert "use an older key" in dry_run and " 1 rows" not in dry_run
    patients = Patient.objects.order_by("pk")
    assert [p.phone for p in patients] == PHONES
    assert [found(lab, phone) for phone in PHONES] == [
        [p.pk] for p in old + between + new
    ]


def test_the_blind_index_key_rotates_in_a_window_and_lookups_find_every_row(
    labs, encryption_keys, settings
):
    lab = labs["north"]
    patients = make_patients(lab, PHONES)

    settings.BLIND_INDEX_KEY = new_key()  # step 2
    assert found(lab, PHONES[0]) == []  # why the window: nothing is found yet
    output = run("reindex_blind_indexes", "--every-row")  # step 3

    assert "patients.patient: 3 rows re-indexed per lab." in output
    assert [found(lab, phone) for phone in PHONES] == [[p.pk] for p in patients]
    assert "patients.patient: 0 rows re-indexed" in run(
        "reindex_blind_indexes", "--every-row"
    )


def public_key_printed() -> str:
    """What step 2 copies: `activity_log_public_key`'s PEM."""
    return run("activity_log_public_key")


def test_the_checkpoint_signing_key_rotates_and_older_checkpoints_still_verify(
    labs, signing, settings
):
    make_patients(labs["north"], PHONES[:1])
    run("checkpoint_activity_logs", "--now")
    old_public = public_key_printed()  # step 2: copied before the switch

    settings.ACTIVITY_LOG_RETIRED_VERIFY_KEYS = old_public  # step 2
    settings.ACTIVITY_LOG_SIGNING_KEY = pem(Ed25519PrivateKey.generate())  # step 3
    registry.reset()
    run("check")
    make_patients(labs["north"], PHONES[1:2])
    run("checkpoint_activity_logs", "--now")  # step 4
    run("verify_activity_logs")  # exits 0
    every_key = run("activity_log_public_key", "--all")

    assert every_key.count("BEGIN PUBLIC KEY") == 2 and old_public in every_key
    # and without step 2 the older checkpoint fails, as the runbook warns
    settings.ACTIVITY_LOG_RETIRED_VERIFY_KEYS = ""
    with pytest.raises(CommandError, match="chains are broken"):
        run("verify_activity_logs")


@pytest.mark.django_db(transaction=True)  # the worker's jobs commit
def test_a_webhook_secret_rotates_and_the_receiver_switches_within_the_overlap(
    labs, subscribe, receiver, deliver
):
    endpoint = subscribe(labs["north"])
    old_secret = receiver.secrets[0]

    output = run(
        "rotate_webhook_secret", "--endpoint", str(endpoint.pk), "--reason", "yearly"
    )
    new_secret = output.splitlines()[-1]
    receiver.secrets[:] = [new_secret]  # the receiver switched
    new_patient(labs["north"])
    deliver(all_finished)
    receiver.secrets[:] = [old_secret]  # or has not switched yet
    new_patient(labs["north"], phone="+919876543219")
    deliver(all_finished)

    assert new_secret.startswith("whsec_") and new_secret != old_secret
    assert [r.verified_by for r in receiver.requests] == [0, 0]
    assert receiver.problems == []


def test_an_api_key_is_replaced_and_the_old_one_refused(labs):
    lab_id = str(labs["north"].pk)

    def works(text: str) -> bool:
        response = Client().get(
            "/api/patients/", headers={"Authorization": f"Bearer {text}"}
        )
        return response.status_code == 200

    old = run("create_api_key", "--lab", lab_id, "--name", "HIS").splitlines()[-1]
    new = run("create_api_key", "--lab", lab_id, "--name", "HIS 2026-12").splitlines()[
        -1
    ]
    assert works(old) and works(new)
    prefix = ApiKey.objects.get(name="HIS").prefix

    run("revoke_api_key", prefix, "--reason", "rotated")

    assert (works(old), works(new)) == (False, True)


def test_a_new_secret_key_signs_users_out_and_leaves_api_keys_and_data(
    labs, encryption_keys, settings
):
    make_user("asha", labs["north"])
    patient = make_patients(labs["north"], PHONES[:1])[0]
    browser = Client()
    assert sign_in(browser, "asha").status_code == 200
    assert browser.get("/api/patients/").status_code == 200
    _, text = ApiKey.create(labs["north"], "HIS")

    settings.SECRET_KEY = "a-new-secret-key-" + new_key()

    assert browser.get("/api/patients/").status_code == 401
    integration = Client().get(
        "/api/patients/", headers={"Authorization": f"Bearer {text}"}
    )
    assert integration.status_code == 200
    assert Patient.objects.get(pk=patient.pk).phone == PHONES[0]


def test_a_new_health_check_token_replaces_the_old_one_at_once(settings):
    settings.HEALTH_CHECK_ALLOWED_IPS = []  # only the token lets a monitor in
    settings.HEALTH_CHECK_TIMEOUT_SECONDS = 0.2  # the answer is not the point
    settings.HEALTH_CHECK_DEADLINE_SECONDS = 0.5
    settings.HEALTH_CHECK_TOKEN = "old-monitor-token-1234567890"

    def status(token: str) -> int:
        response = Client().get(
            "/core/view/ready/", headers={"Authorization": f"Bearer {token}"}
        )
        return response.status_code

    assert status("old-monitor-token-1234567890") != 403
    settings.HEALTH_CHECK_TOKEN = "new-monitor-token-0987654321"

    assert status("old-monitor-token-1234567890") == 403
    assert status("new-monitor-token-0987654321") != 403
