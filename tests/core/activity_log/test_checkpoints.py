"""Signed checkpoints anchor each chain outside the database: a database
administrator who rewrites an entry and recomputes every later hash passes
the chain check but not the checkpoints; forged or removed checkpoints are
reported; S3 Object Lock holds them (a real moto server); storage down
records nothing and prunes nothing; the keys are checked at start-up; and
exports carry the checkpoints and public key to both standalone verifiers."""

import base64
import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from core.activity_log.chain import seal_lab, verify_lab
from core.activity_log.checkpoints import (
    checkpoint_chain,
    checkpoint_due,
    storage_key,
    stored_checkpoints,
    verify_checkpoints,
)
from core.activity_log.hashing import entry_hash
from core.activity_log.retention import prune_expired
from core.checks import check_checkpoint_keys
from core.models import ActivityLog, ActivityLogCheckpoint
from core.models.activity_log_base import write_entry
from core.utils.aws.exceptions import StorageUnavailable
from core.utils.clients import get_client, registry
from tests.core.activity_log.keys import pem
from tests.core.activity_log.test_audit_export import both, export_of, rewrite
from tests.core.activity_log.verifiers import stdlib_verifier
from tests.core.utils.aws.conftest import CREDENTIALS, MotoServer

pytestmark = pytest.mark.django_db(transaction=True)


def entries(lab, count: int) -> list[ActivityLog]:
    made = [
        write_entry(
            lab_id=lab.pk,
            model_label="tests.reading",
            instance_id=n,
            action="other",
            message=f"reading {n}",
        )
        for n in range(count)
    ]
    seal_lab(lab.pk)
    return made


def rewrite_consistently(victim: ActivityLog, message: str) -> None:
    """What a database administrator can do: edit an entry, then recompute
    its hash and every later one, and the chain head, so the chain alone
    still verifies."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for table in ("core_activitylog", "core_activitylogseal"):
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        cursor.execute(
            "UPDATE core_activitylog SET message = %s WHERE id = %s",
            [message, victim.id],
        )
        cursor.execute(
            "SELECT chain_lab_id, sequence FROM core_activitylogseal "
            "WHERE entry_id = %s",
            [victim.id],
        )
        chain, start = cursor.fetchone()
        cursor.execute(
            "SELECT id, entry_id, previous_hash, format FROM core_activitylogseal "
            "WHERE chain_lab_id = %s AND sequence >= %s ORDER BY sequence",
            [chain, start],
        )
        rows = cursor.fetchall()
        previous = rows[0][2]
        for seal_id, entry_id, _, format in rows:
            digest = entry_hash(ActivityLog.objects.get(id=entry_id), previous, format)
            cursor.execute(
                "UPDATE core_activitylogseal SET previous_hash = %s, entry_hash = %s "
                "WHERE id = %s",
                [previous, digest, seal_id],
            )
            previous = digest
        cursor.execute(
            "UPDATE core_activitylogchainhead SET last_hash = %s "
            "WHERE chain_lab_id = %s",
            [previous, chain],
        )
        if connection.vendor == "postgresql":
            for table in ("core_activitylog", "core_activitylogseal"):
                cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")


# -- signing and the interval ---------------------------------------------------------


def test_each_moved_chain_gets_one_signed_checkpoint_per_interval(signing, labs):
    entries(labs["north"], 2)
    entries(labs["south"], 1)

    assert checkpoint_due() == 2
    entries(labs["north"], 1)
    assert checkpoint_due() == 0  # within the interval

    (north,) = [d for d in stored_checkpoints(labs["north"].pk)]
    assert north["payload"]["sequence"] == 2
    public = signing.public_key()
    signed = stdlib_verifier().jcs(north["payload"])
    public.verify(base64.b64decode(north["signature"]), signed)  # raises if forged
    assert ActivityLogCheckpoint.objects.count() == 2


def test_a_checkpoint_is_written_again_once_the_interval_passed(
    signing, labs, settings
):
    entries(labs["north"], 1)
    checkpoint_due()
    entries(labs["north"], 1)
    settings.ACTIVITY_LOG_CHECKPOINT_INTERVAL_SECONDS = 0

    assert checkpoint_due() == 1
    assert checkpoint_due() == 0  # the head did not move
    sequences = [d["payload"]["sequence"] for d in stored_checkpoints(labs["north"].pk)]
    assert sequences == [1, 2]


def test_without_a_key_nothing_is_signed(labs, settings):
    settings.ACTIVITY_LOG_SIGNING_KEY = ""
    entries(labs["north"], 1)

    assert checkpoint_due() == 0
    assert not ActivityLogCheckpoint.objects.exists()


# -- verification ------------------------------------------------------------------


def test_a_consistent_rewrite_passes_the_chain_but_not_the_checkpoint(
    signing, labs, capsys
):
    made = entries(labs["north"], 4)
    first = checkpoint_chain(labs["north"].pk)
    assert first is not None

    rewrite_consistently(made[1], "nothing to see here")

    assert verify_lab(labs["north"].pk) is None  # the chain alone is fooled
    problem = verify_checkpoints(labs["north"].pk)
    assert problem is not None and problem.sequence == 4
    assert "rewritten after it was signed" in problem.problem
    with pytest.raises(CommandError):
        call_command("verify_activity_logs", "--lab", str(labs["north"].pk))
    err = capsys.readouterr().err
    assert f"checkpoint #4 signed {problem.signed_at} fails" in err


def test_the_first_checkpoint_that_no_longer_matches_is_named(signing, labs, settings):
    settings.ACTIVITY_LOG_CHECKPOINT_INTERVAL_SECONDS = 0
    made = entries(labs["north"], 2)
    checkpoint_chain(labs["north"].pk)  # #2
    made += entries(labs["north"], 2)
    checkpoint_chain(labs["north"].pk)  # #4

    rewrite_consistently(made[2], "edited after #2 was signed")

    problem = verify_checkpoints(labs["north"].pk)
    assert problem is not None and problem.sequence == 4


def test_an_intact_chain_passes_its_checkpoints(signing, labs, capsys):
    entries(labs["north"], 3)
    checkpoint_chain(labs["north"].pk)

    call_command("verify_activity_logs", "--lab", str(labs["north"].pk))

    assert verify_checkpoints(labs["north"].pk) is None
    assert "chain intact" in capsys.readouterr().out


def test_a_forged_checkpoint_is_reported(signing, labs):
    entries(labs["north"], 2)
    checkpoint = checkpoint_chain(labs["north"].pk)
    assert checkpoint is not None
    client = get_client("s3")
    document = json.loads(client.download(checkpoint.storage_key))
    document["payload"]["entry_hash"] = "f" * 64  # re-signing needs the key
    client.upload(checkpoint.storage_key, json.dumps(document).encode())

    problem = verify_checkpoints(labs["north"].pk)

    assert problem is not None and "forged" in problem.problem


def test_a_checkpoint_removed_from_storage_is_reported(signing, labs):
    entries(labs["north"], 2)
    checkpoint = checkpoint_chain(labs["north"].pk)
    assert checkpoint is not None

    get_client("s3").delete(checkpoint.storage_key)

    problem = verify_checkpoints(labs["north"].pk)
    assert problem is not None and "missing from storage" in problem.problem


# -- storage: Object Lock, and failures -----------------------------------------------


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    server = MotoServer()
    yield server
    server.stop()


def use_bucket(settings, moto: MotoServer, *, locked: bool) -> str:
    name = f"lis-audit-{uuid.uuid4().hex[:10]}"
    moto.admin().create_bucket(Bucket=name, ObjectLockEnabledForBucket=locked)
    settings.SERVICES = {
        **settings.SERVICES,
        "s3": {
            "BACKEND": "core.utils.aws.client.S3Client",
            "OPTIONS": {
                "bucket": name, "endpoint_url": moto.url, "addressing_style": "path",
                "max_attempts": 1, "connect_timeout_seconds": 1, **CREDENTIALS,
            },
        },
    }  # fmt: skip
    registry.reset()
    return name


def test_checkpoints_are_locked_where_the_bucket_has_object_lock(
    signing, labs, settings, moto
):
    bucket = use_bucket(settings, moto, locked=True)
    settings.ACTIVITY_LOG_CHECKPOINT_RETENTION_DAYS = 30
    entries(labs["north"], 1)

    checkpoint = checkpoint_chain(labs["north"].pk)

    assert checkpoint is not None
    head = moto.admin().head_object(Bucket=bucket, Key=checkpoint.storage_key)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    retained = head["ObjectLockRetainUntilDate"] - timezone.now()
    assert dt.timedelta(days=29) < retained <= dt.timedelta(days=30)
    assert verify_checkpoints(labs["north"].pk) is None


def test_a_bucket_without_object_lock_still_gets_the_checkpoints(
    signing, labs, settings, moto
):
    bucket = use_bucket(settings, moto, locked=False)
    entries(labs["north"], 1)

    checkpoint = checkpoint_chain(labs["north"].pk)

    assert checkpoint is not None
    head = moto.admin().head_object(Bucket=bucket, Key=checkpoint.storage_key)
    assert "ObjectLockMode" not in head
    assert verify_checkpoints(labs["north"].pk) is None


def down_storage(settings) -> None:
    settings.SERVICES = {
        **settings.SERVICES,
        "s3": {
            "BACKEND": "core.utils.aws.client.S3Client",
            "OPTIONS": {
                "bucket": "gone", "endpoint_url": "http://127.0.0.1:9",
                "max_attempts": 1, "connect_timeout_seconds": 0.5, **CREDENTIALS,
            },
        },
    }  # fmt: skip
    registry.reset()


def test_storage_down_records_no_checkpoint(signing, labs, settings):
    entries(labs["north"], 1)
    down_storage(settings)

    with pytest.raises(StorageUnavailable):
        checkpoint_chain(labs["north"].pk)

    assert not ActivityLogCheckpoint.objects.exists()


def test_a_prune_signs_the_head_first_and_prunes_nothing_without_storage(
    signing, labs, settings
):
    settings.ACTIVITY_LOG_DB_RETENTION_DAYS = 30
    old = timezone.now() - dt.timedelta(days=40)
    made = [
        write_entry(lab_id=labs["north"].pk, model_label="tests.reading",
                    instance_id=n, action="other", created_at=old)
        for n in range(3)
    ]  # fmt: skip
    seal_lab(labs["north"].pk)
    ActivityLog.objects.filter(id__in=[e.id for e in made]).mark_shipped()
    saved_services = settings.SERVICES
    down_storage(settings)

    report = prune_expired()

    assert report.pruned == []
    assert "could not be signed and stored" in report.refused[0]
    assert ActivityLog.objects.filter(lab_id=labs["north"].pk).count() == 3

    settings.SERVICES = saved_services
    registry.reset()
    (result,) = prune_expired().pruned
    assert result.removed == 3
    (checkpoint,) = ActivityLogCheckpoint.objects.all()
    assert checkpoint.sequence == 3


# -- start-up checks -------------------------------------------------------------------


def test_production_needs_a_signing_key(settings):
    settings.DEBUG = False
    settings.ACTIVITY_LOG_SIGNING_KEY = ""

    assert [m.id for m in check_checkpoint_keys()] == ["core.E050"]


def test_a_key_that_is_not_ed25519_is_refused(settings):
    settings.ACTIVITY_LOG_SIGNING_KEY = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END"

    (message,) = check_checkpoint_keys()
    assert message.id == "core.E051"
    assert "AAAA" not in message.msg


def test_a_verify_key_of_another_pair_is_refused(settings, signing):
    other = Ed25519PrivateKey.generate().public_key()
    settings.ACTIVITY_LOG_VERIFY_KEY = other.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()

    assert [m.id for m in check_checkpoint_keys()] == ["core.E052"]


def test_a_key_from_a_file_with_debug_off_is_accepted(settings, tmp_path):
    path = tmp_path / "signing.pem"
    path.write_text(pem(Ed25519PrivateKey.generate()))
    settings.DEBUG = False
    settings.ACTIVITY_LOG_SIGNING_KEY = ""
    settings.ACTIVITY_LOG_SIGNING_KEY_FILE = str(path)

    assert check_checkpoint_keys() == []


# -- exports carry them to the standalone verifiers ----------------------------------


def test_an_export_carries_the_checkpoints_and_both_verifiers_check_them(
    signing, labs, tmp_path
):
    entries(labs["north"], 3)
    checkpoint_chain(labs["north"].pk)
    export = export_of(labs["north"], tmp_path / "north.jsonl", _today(labs["north"]))

    assert both(export) == (0, "OK 3 entries in 1 chains, 1 checkpoints")
    manifest = json.loads(Path(f"{export}.manifest.json").read_text())
    assert "BEGIN PUBLIC KEY" in manifest["public_key"]


def forge_manifest_checkpoint(export: Path) -> None:
    path = Path(f"{export}.manifest.json")
    manifest = json.loads(path.read_text())
    manifest["chains"][0]["checkpoints"][0]["payload"]["entry_hash"] = "0" * 64
    path.write_text(json.dumps(manifest))


def test_a_forged_checkpoint_in_an_export_fails_in_both(signing, labs, tmp_path):
    entries(labs["north"], 2)
    checkpoint_chain(labs["north"].pk)
    export = export_of(labs["north"], tmp_path / "north.jsonl", _today(labs["north"]))

    forge_manifest_checkpoint(export)

    code, verdict = both(export)
    assert code == 1 and verdict.startswith("FAIL checkpoint ")


def test_an_export_rewritten_consistently_fails_at_the_checkpoint(
    signing, labs, tmp_path
):
    entries(labs["north"], 3)
    checkpoint_chain(labs["north"].pk)
    export = export_of(labs["north"], tmp_path / "north.jsonl", _today(labs["north"]))

    def recompute(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
        verifier = stdlib_verifier()
        lines[0]["entry"]["message"] = "rewritten"
        previous = lines[0]["previous_hash"]
        for line in lines:
            line["previous_hash"] = previous
            line["entry_hash"] = verifier.link_hash(
                verifier.jcs(line["entry"]), previous
            )
            previous = line["entry_hash"]
        return lines

    rewrite(export, recompute, fix_manifest=True)
    path = Path(f"{export}.manifest.json")
    manifest = json.loads(path.read_text())
    lines = [json.loads(t) for t in export.read_text().split("\n") if t]
    manifest["chains"][0].update(
        first_hash=lines[0]["entry_hash"], last_hash=lines[-1]["entry_hash"],
        head_hash=lines[-1]["entry_hash"],
    )  # fmt: skip
    manifest["sha256"] = hashlib.sha256(export.read_bytes()).hexdigest()
    path.write_text(json.dumps(manifest))

    code, verdict = both(export)
    assert code == 1
    assert verdict.startswith(f"FAIL checkpoint chain={labs['north'].pk} sequence=3:")


# -- the standard-library Ed25519 agrees with cryptography's -------------------------


def test_the_stdlib_ed25519_agrees_with_cryptography() -> None:
    verifier = stdlib_verifier()
    for n in range(20):
        key = Ed25519PrivateKey.generate()
        raw = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        message = f"checkpoint {n} रोगी".encode() * n
        signature = key.sign(message)
        assert verifier.ed25519_verify(raw, message, signature)
        assert not verifier.ed25519_verify(raw, message + b"x", signature)
        bad = bytes([signature[0] ^ 1]) + signature[1:]
        assert not verifier.ed25519_verify(raw, message, bad)


def _today(lab) -> dt.date:
    return timezone.localtime(timezone.now(), lab.zone).date()


def test_the_storage_key_names_the_chain_and_sequence() -> None:
    assert storage_key(3, 17) == "activity-log-checkpoints/3/000000000017.json"


def test_the_public_key_command_prints_the_key_inspectors_need(signing, capsys):
    call_command("activity_log_public_key")

    out = capsys.readouterr()
    public = serialization.load_pem_public_key(out.out.encode())
    assert public.public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    ) == signing.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    assert "key id " in out.err
