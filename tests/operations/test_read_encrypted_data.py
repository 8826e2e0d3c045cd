"""Runbook "Read encrypted data with only the keys and the database"
(docs/operations.md, docs/encrypted-data.md).

The class of defect: a runbook step that does not work. Here, a
specification of the token format that a reader outside the project cannot
follow to the plaintext (issue 18: an attempt from the README alone read 0
of 26 values). Rows are saved through the project, dumped with plain SQL
(PostgreSQL shows `encryption_context` hyphenated, SQLite as 32 hex digits),
and `tools/decrypt_fields.py` is run as a subprocess in isolated mode, given
only the dump and the keys: every value must come back as saved, non-ASCII
text and values made with a rotated-out key included, and its blind indexes
must equal the stored ones.
"""

import ast
import base64
import csv
import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from unittest import mock

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import connection

from admin.account.models import Lab
from core.models.documentdb import DocumentDBConnection
from core.models.encrypted_fields import associated_data_for
from core.models.webhook import WebhookEndpoint
from core.utils import encryption
from core.utils.blind_index import global_blind_index, lab_blind_index
from patients.models import Patient
from tests.core.fusion.processes import database_url
from tests.core.models.encrypted_record import SealedRecord

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sealed_record_table")]

TOOL = Path(__file__).resolve().parents[2] / "tools" / "decrypt_fields.py"

#: Notes in three scripts, one with a newline and a comma (CSV quoting).
NOTES = [
    "Haemolysed, repeat\nsecond line",
    "عينة دم متحللة",
    "नमूना दोबारा लें",
    "",
]
RESULTS = [{"hb": 13.2, "flag": "منخفض", "unit": "g/dL"}, [1, "२", None], "text", None]


def select(table: str, columns: list[str]) -> list[tuple]:
    """The rows of `table` as the database returns them to plain SQL."""
    quote = connection.ops.quote_name
    names = ", ".join(quote(column) for column in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {names} FROM {quote(table)} ORDER BY id")  # noqa: S608 - names quoted
        return cursor.fetchall()


def dump(table: str, columns: list[str], path: Path) -> Path:
    """`table` dumped as CSV (NULL as an empty cell, as psql's \\copy and
    sqlite3 -csv write it)."""
    rows = select(table, columns)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if value is None else str(value) for value in row])
    return path


def dump_jsonl(table: str, columns: list[str], path: Path) -> Path:
    """`table` dumped as JSON lines, NULL as null (as psql gives with
    `SELECT row_to_json(t) FROM table t`)."""
    lines = [
        json.dumps(
            {
                column: value if value is None or isinstance(value, int) else str(value)
                for column, value in zip(columns, row, strict=True)
            },
            ensure_ascii=False,
        )
        for row in select(table, columns)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_tool(*args: str, keys: dict[str, str]) -> subprocess.CompletedProcess:
    """The tool as an outsider runs it: isolated mode (no PYTHONPATH, not
    the project's directory on the path), a directory outside the project,
    only the keys in its environment."""
    environment = {"PATH": os.environ.get("PATH", ""), **keys}
    return subprocess.run(
        [sys.executable, "-I", str(TOOL), *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd="/",
        check=False,
        timeout=60,
    )


def key_environment(encryption_keys, *key_ids: str) -> dict[str, str]:
    return {
        "LIS_ENCRYPTION_KEYS": ",".join(
            f"{key_id}:{getattr(encryption_keys, key_id)}" for key_id in key_ids
        ),
        "LIS_BLIND_INDEX_KEY": encryption_keys.blind,
    }


def save_records(lab: Lab, first: int, count: int) -> list[SealedRecord]:
    saved = []
    for number in range(first, first + count):
        record = SealedRecord(
            lab=lab,
            label=f"R{number}",
            note=NOTES[number % len(NOTES)],
            code=None if number % 3 == 0 else f"code-{number}-ق",
            results=RESULTS[number % len(RESULTS)],
        )
        record.save()
        saved.append(record)
    return saved


def test_every_value_saved_decrypts_with_only_the_keys_across_a_rotation(
    labs, encryption_keys, tmp_path
):
    old = save_records(labs["north"], 0, 5)
    encryption_keys.rotate_to("k1", "k2")
    new = save_records(labs["south"], 5, 5)
    rows = dump_jsonl(
        SealedRecord._meta.db_table,
        ["id", "lab_id", "encryption_context", "note", "code", "results", "note_index"],
        tmp_path / "records.jsonl",
    )
    tokens = rows.read_text(encoding="utf-8")
    assert "enc1:k1:" in tokens and "enc1:k2:" in tokens  # both keys in one table

    done = run_tool(
        "decrypt",
        "--model",
        "lifecycle_tests.sealedrecord",
        "--jsonl",
        str(rows),
        keys=key_environment(encryption_keys, "k1", "k2"),
    )

    assert done.returncode == 0, done.stderr
    plain = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(p["note"], p["code"], p["results"]) for p in plain] == [
        (r.note, r.code, r.results) for r in old + new
    ]
    # and each stored blind index is the one the tool computes from the note
    for row in plain:
        index = run_tool(
            "blind-index",
            "--model",
            "lifecycle_tests.sealedrecord",
            "--field",
            "note",
            "--lab",
            str(row["lab_id"]),
            row["note"].strip().casefold(),
            keys=key_environment(encryption_keys, "k2"),
        )
        assert index.returncode == 0, index.stderr
        assert index.stdout.strip() == row["note_index"], row["id"]


def test_csv_output_keeps_the_columns_and_writes_json_as_json_text(
    labs, encryption_keys, tmp_path
):
    (record,) = save_records(labs["north"], 1, 1)
    rows = dump(
        SealedRecord._meta.db_table,
        ["id", "encryption_context", "note", "code", "results"],
        tmp_path / "records.csv",
    )

    done = run_tool(
        "decrypt",
        "--model",
        "lifecycle_tests.sealedrecord",
        str(rows),
        keys=key_environment(encryption_keys, "k1"),
    )

    assert done.returncode == 0, done.stderr
    (row,) = csv.DictReader(done.stdout.splitlines(keepends=True))
    assert row["id"] == str(record.pk)
    assert (row["note"], row["code"]) == (record.note, record.code)
    assert json.loads(row["results"]) == record.results


def test_patients_webhook_secrets_and_docdb_urls_decrypt_and_phones_are_found(
    labs, encryption_keys, tmp_path, settings
):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True  # a receiver on loopback
    lab = labs["north"]
    patient = Patient(
        lab=lab, first_name="अनिल", sex="M", phone="+91 98765 43210", email="A@x.in"
    )
    patient.save()
    endpoint, secret = WebhookEndpoint.create(
        lab, "http://127.0.0.1:9/hooks", ["patient.created"]
    )
    encryption_keys.rotate_to("k1", "k2")
    new_secret = endpoint.rotate_secret()
    docdb = DocumentDBConnection(
        account_id=lab.pk, connection_url="mongodb://user:pässword@db.example/lis"
    )
    docdb.save()
    keys = key_environment(encryption_keys, "k1", "k2")

    def decrypted(model, columns):
        rows = dump(model._meta.db_table, columns, tmp_path / "dump.csv")
        done = run_tool(
            "decrypt",
            "--model",
            model._meta.label_lower,
            "--jsonl",
            str(rows),
            keys=keys,
        )
        assert done.returncode == 0, done.stderr
        return [json.loads(line) for line in done.stdout.splitlines()]

    (person,) = decrypted(Patient, ["id", "encryption_context", "phone", "email"])
    (hook,) = decrypted(
        WebhookEndpoint, ["id", "encryption_context", "secret", "previous_secret"]
    )
    (account,) = decrypted(
        DocumentDBConnection, ["id", "encryption_context", "connection_url"]
    )

    assert (person["phone"], person["email"]) == ("+919876543210", "a@x.in")
    assert (hook["secret"], hook["previous_secret"]) == (new_secret, secret)
    assert account["connection_url"] == "mongodb://user:pässword@db.example/lis"
    index = run_tool(
        "blind-index",
        "--model",
        "patients.patient",
        "--field",
        "phone",
        "--lab",
        str(lab.pk),
        "+919876543210",
        keys=keys,
    )
    found = Patient.objects.filter(phone_index=index.stdout.strip())
    assert list(found) == [patient]


def test_a_missing_key_or_a_value_moved_to_another_row_is_named_not_guessed(
    labs, encryption_keys, tmp_path
):
    first, second = save_records(labs["north"], 0, 2)
    encryption_keys.rotate_to("k1", "k2")
    third = save_records(labs["north"], 2, 1)[0]
    path = dump(
        SealedRecord._meta.db_table,
        ["id", "encryption_context", "note"],
        tmp_path / "records.csv",
    )
    rows = list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))
    rows[1]["note"] = rows[0]["note"]  # the first row's value copied into the second
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["id", "encryption_context", "note"])
        writer.writeheader()
        writer.writerows(rows)

    done = run_tool(
        "decrypt",
        "--model",
        "lifecycle_tests.sealedrecord",
        str(path),
        keys=key_environment(encryption_keys, "k1"),  # k2 is missing
    )

    assert done.returncode == 1
    assert f"row 2 (id {second.pk}), column note: authentication failed" in done.stderr
    assert f"row 3 (id {third.pk}), column note: key id 'k2' is not in" in done.stderr
    assert first.note.splitlines()[0] in done.stdout
    assert third.note not in done.stdout and second.note not in done.stdout
    assert first.note not in done.stderr


def test_a_development_key_file_is_read_as_the_project_writes_it(
    labs, encryption_keys, tmp_path
):
    (record,) = save_records(labs["north"], 2, 1)
    key_file = tmp_path / "development-encryption-keys"
    key_file.write_text(
        "# Development encryption keys\n"
        f"LIS_ENCRYPTION_KEYS=k1:{encryption_keys.k1}\n"
        f"LIS_BLIND_INDEX_KEY={encryption_keys.blind}\n"
    )
    rows = dump(
        SealedRecord._meta.db_table,
        ["id", "encryption_context", "note"],
        tmp_path / "r.csv",
    )

    done = run_tool(
        "--key-file", str(key_file), "decrypt", "--model",
        "lifecycle_tests.sealedrecord", "--jsonl", str(rows), keys={},
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["note"] == record.note


def test_the_tool_imports_only_the_standard_library_and_cryptography():
    tree = ast.parse(TOOL.read_text(encoding="utf-8"))
    imported = {
        name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for name in (
            [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
        )
    }

    assert imported - set(sys.stdlib_module_names) == {"cryptography"}


# -- the specification's test vectors -------------------------------------------

SPEC = (Path(__file__).resolve().parents[2] / "docs" / "encrypted-data.md").read_text(
    encoding="utf-8"
)
VECTOR_KEY = bytes(range(32))
VECTOR_INDEX_KEY = bytes(range(32, 64))
VECTOR_NONCE = bytes(range(0xA0, 0xAC))
VECTOR_CONTEXT = uuid.UUID("6f1c0b2e-5d4a-4b3c-9e8f-0a1b2c3d4e5f")
PHONE = "+919876543210"
RESULTS_VALUE = {"hb": 13.2, "flag": "منخفض"}


def spec_token(field: str) -> str:
    """The token the specification gives for `field`."""
    (token,) = re.findall(rf"`{field}`.*?token `(enc1:[^`]+)`", SPEC, re.DOTALL)
    return token


def spec_decrypt(token: str, kind: str, model: str, field: str, context: str) -> bytes:
    """Decryption written from docs/encrypted-data.md alone."""
    _, key_id, payload = token.split(":")
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    aad = f"enc1|{kind}|{key_id}|{model}|{field}|{context}".encode()
    return AESGCM(VECTOR_KEY).decrypt(raw[:12], raw[12:], aad)


def test_the_specifications_vectors_are_what_the_project_makes(settings):
    settings.ENCRYPTION_KEYS = "k1:" + base64.b64encode(VECTOR_KEY).decode()
    settings.BLIND_INDEX_KEY = base64.b64encode(VECTOR_INDEX_KEY).decode()

    with mock.patch.object(encryption.os, "urandom", return_value=VECTOR_NONCE):
        phone = encryption.encrypt_str(
            PHONE, associated_data_for("patients.patient", "phone", VECTOR_CONTEXT)
        )
        results = encryption.encrypt_json(
            RESULTS_VALUE,
            associated_data_for(
                "lifecycle_tests.sealedrecord", "results", VECTOR_CONTEXT
            ),
        )

    assert (phone, results) == (spec_token("phone"), spec_token("results"))
    domain = "patients.patient|phone"
    assert f"v2 `{lab_blind_index(PHONE, domain=domain, lab_id=3)}`" in SPEC
    assert f"v1\n  `{global_blind_index(PHONE, domain=domain)}`" in SPEC


def test_the_specifications_vectors_decrypt_by_the_page_alone_and_by_the_tool(
    tmp_path,
):
    context = str(VECTOR_CONTEXT)
    rows = tmp_path / "vectors.jsonl"
    rows.write_text(
        json.dumps(
            {
                "encryption_context": context.replace("-", ""),
                "phone": spec_token("phone"),
            }
        )
        + "\n"
    )
    keys = {
        "LIS_ENCRYPTION_KEYS": "k1:" + base64.b64encode(VECTOR_KEY).decode(),
        "LIS_BLIND_INDEX_KEY": base64.b64encode(VECTOR_INDEX_KEY).decode(),
    }

    by_hand = spec_decrypt(
        spec_token("phone"), "str", "patients.patient", "phone", context
    )
    results = spec_decrypt(
        spec_token("results"),
        "json",
        "lifecycle_tests.sealedrecord",
        "results",
        context,
    )
    by_tool = run_tool(
        "decrypt", "--model", "patients.patient", "--jsonl", str(rows), keys=keys
    )
    index = run_tool(
        "blind-index", "--model", "patients.patient", "--field", "phone", "--lab", "3",
        PHONE, keys=keys,
    )  # fmt: skip

    assert by_hand.decode() == PHONE
    assert json.loads(results) == RESULTS_VALUE
    assert results.decode() == '{"hb":13.2,"flag":"منخفض"}'
    assert json.loads(by_tool.stdout)["phone"] == PHONE
    assert f"v2 `{index.stdout.strip()}`" in SPEC


def documented_commands() -> tuple[str, str, str]:
    """The psql dump, the sqlite3 dump and the tool's run, as the
    specification writes them."""
    (block,) = re.findall(
        r"## `tools/decrypt_fields.py`.*?```sh\n(.*?)```", SPEC, re.DOTALL
    )
    psql, sqlite, tool = block.replace("\\\n", " ").splitlines()
    return psql, sqlite.removeprefix("# or: "), tool


@pytest.mark.django_db(transaction=True)  # the dump reads what was committed
def test_the_documented_dump_and_decrypt_commands_work_as_written(
    labs, encryption_keys, tmp_path
):
    lab = labs["north"]
    saved = []
    for number, email in enumerate(["asha@example.com", "ravi@उदाहरण.भारत"]):
        if number:
            encryption_keys.rotate_to("k1", "k2")
        patient = Patient(
            lab=lab, first_name="P", sex="F", phone=f"+91987654321{number}", email=email
        )
        patient.save()
        saved.append(patient)
    psql, sqlite, tool = documented_commands()
    dump = (
        psql
        if connection.vendor == "postgresql"
        else sqlite.replace("var/db.sqlite3", str(connection.settings_dict["NAME"]))
    )
    keys = f"k1:{encryption_keys.k1},k2:{encryption_keys.k2}"
    run = tool.replace("'k1:...,k2:...'", f"'{keys}'").replace(
        "python3 tools/decrypt_fields.py", f"{sys.executable} -I {TOOL}"
    )

    done = subprocess.run(
        ["bash", "-c", f"set -e\n{dump}\n{run}"],
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"], "DATABASE_URL": database_url()},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    assert done.returncode == 0, done.stderr
    plain = (tmp_path / "patients-plain.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(plain.splitlines()))
    assert [(r["id"], r["phone"], r["email"]) for r in rows] == [
        (str(p.pk), p.phone, p.email) for p in saved
    ]
