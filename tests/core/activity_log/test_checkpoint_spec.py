"""docs/audit-checkpoints.md tells inspectors what is signed: its worked
example is recomputed here byte for byte, the project signs those values to
exactly those bytes, and the by-hand openssl recipe is run as written, so
the documentation cannot drift from what the code signs."""

import base64
import datetime as dt
import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import rfc8785
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from core.activity_log.checkpoint_keys import key_id
from core.activity_log.checkpoints import payload, signature_holds, storage_key

pytestmark = pytest.mark.engine_independent

DOC = Path(__file__).resolve().parents[3] / "docs" / "audit-checkpoints.md"
BLOCK = re.compile(r"```\w+ (?P<name>[a-z-]+)\n(?P<body>.*?)\n```", re.S)
EXPECTED_SHA256 = "c44a1490ce6cd82a2729f646e786dacb9764a5dac7e113d9c7d4ecb1032ba90c"


def blocks() -> dict[str, str]:
    return {m["name"]: m["body"] for m in BLOCK.finditer(DOC.read_text("utf-8"))}


def test_the_example_signature_is_the_test_keys_over_the_signed_bytes() -> None:
    doc = blocks()
    private = serialization.load_pem_private_key(
        doc["test-key"].encode(), password=None
    )
    assert isinstance(private, Ed25519PrivateKey)
    signed = doc["signed-bytes"].encode("utf-8")

    assert len(signed) == 224
    assert hashlib.sha256(signed).hexdigest() == EXPECTED_SHA256
    assert base64.b64encode(private.sign(signed)).decode() == doc["signature"]


def test_the_stored_object_holds_the_payload_whose_jcs_form_is_signed() -> None:
    doc = blocks()
    stored = json.loads(doc["stored-object"])
    public = serialization.load_pem_public_key(doc["public-key"].encode())
    assert isinstance(public, Ed25519PublicKey)

    assert rfc8785.dumps(stored["payload"]) == doc["signed-bytes"].encode()
    assert stored["signature"] == doc["signature"]
    assert stored["payload"]["key_id"] == key_id(public)
    assert signature_holds(public, stored)


def test_the_project_signs_those_values_to_the_documented_bytes() -> None:
    doc = blocks()
    stored = json.loads(doc["stored-object"])["payload"]

    made = payload(
        stored["chain"], stored["sequence"], stored["entry_hash"],
        dt.datetime(2026, 12, 4, 5, tzinfo=dt.UTC), stored["key_id"],
    )  # fmt: skip

    assert rfc8785.dumps(made) == doc["signed-bytes"].encode()
    assert storage_key(3, 17) == "activity-log-checkpoints/3/000000000017.json"


needs_openssl = pytest.mark.skipif(
    shutil.which("openssl") is None or shutil.which("python3") is None,
    reason="needs openssl and python3 on PATH",
)


def by_hand(tmp_path: Path, stored_object: str) -> subprocess.CompletedProcess[str]:
    """Run the document's by-hand recipe, as written, in `tmp_path`."""
    doc = blocks()
    (tmp_path / "000000000017.json").write_text(stored_object, encoding="utf-8")
    (tmp_path / "audit-public.pem").write_text(doc["public-key"] + "\n")
    return subprocess.run(
        ["bash", "-e", "-c", doc["by-hand"]],
        cwd=tmp_path, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip


@needs_openssl
def test_openssl_verifies_the_stored_object_by_the_documented_recipe(tmp_path):
    done = by_hand(tmp_path, blocks()["stored-object"])

    assert done.returncode == 0, done.stderr
    assert "Signature Verified Successfully" in done.stdout


@needs_openssl
def test_openssl_refuses_a_stored_object_with_another_hash(tmp_path):
    forged = blocks()["stored-object"].replace("50d858e0", "00000000")

    done = by_hand(tmp_path, forged)

    assert done.returncode != 0
    assert "Signature Verified Successfully" not in done.stdout


@needs_openssl
def test_the_documented_openssl_key_id_is_the_projects(tmp_path):
    doc = blocks()
    (tmp_path / "audit-public.pem").write_text(doc["public-key"] + "\n")

    done = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c",
         "openssl pkey -pubin -in audit-public.pem -outform DER | tail -c 32 "
         "| sha256sum | cut -c1-16"],
        cwd=tmp_path, capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip

    assert done.stdout.strip() == json.loads(doc["stored-object"])["payload"]["key_id"]
    assert "openssl pkey -pubin -in audit-public.pem -outform DER | tail -c 32" in (
        DOC.read_text("utf-8").replace("\n  ", " ")
    )
