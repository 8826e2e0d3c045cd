#!/usr/bin/env python3
"""Read the project's encrypted columns with only the keys and the database.

    python3 decrypt_fields.py decrypt --model patients.patient ROWS.csv
    python3 decrypt_fields.py blind-index --model patients.patient \\
        --field phone --lab 3 +919876543210

Needs Python 3.9 or later and the `cryptography` package, nothing else: not
the project, not Django, no database driver. It follows
docs/encrypted-data.md, the specification of the token format, and nothing
in the project's code.

Keys come from the environment, in the project's own format:
`LIS_ENCRYPTION_KEYS` ("k1:<base64>,k2:<base64>", every key ever used) and,
for `blind-index`, `LIS_BLIND_INDEX_KEY`; or from `--key-file FILE` holding
`NAME=value` lines (the development key file `var/development-encryption-keys`
is one). Keys are never read from the command line, where `ps` would show
them.

`decrypt` reads the rows of one table, dumped with SQL as CSV with a header
(psql: `\\copy (SELECT id, encryption_context, phone, email FROM
patients_patient) TO 'rows.csv' CSV HEADER`; sqlite3: `-csv -header`) or as
JSON lines (one object per row). A column `encryption_context` is required;
every other cell holding a token (`enc1:...`) is decrypted as the field the
column is named after. Other cells are copied as they are. Output (stdout):
the same rows with plaintexts, CSV (default) or JSON lines (`--jsonl`). A
JSON field is written as JSON text in CSV and as its value in JSON lines;
a bytes value as base64. NULL (an empty CSV cell, JSON null) stays empty.

`blind-index` prints the blind index of an already normalised value in one
lab (`v2:...`) or, with `--legacy`, the global index of rows not yet
re-indexed (64 hex), for finding a row by its index column.

Exit status 0: every token decrypted. 1: some could not (each reported on
stderr by row and column, never by value; their cells are left empty).
2: bad arguments, keys or input.
"""

import argparse
import base64
import binascii
import csv
import hashlib
import hmac
import json
import os
import re
import sys
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

TOKEN = re.compile(r"enc1:([A-Za-z0-9._-]{1,32}):([A-Za-z0-9_-]*)")
NONCE_BYTES = 12
TAG_BYTES = 16
#: The kinds of value a token may hold; each is bound into its associated data.
KINDS = ("str", "json", "bytes")
CONTEXT_COLUMN = "encryption_context"


class Failure(Exception):
    """Input, arguments or keys that cannot be used (exit status 2)."""


# -- keys ------------------------------------------------------------------------


def decode_key(encoded, name, exact):
    """Standard or URL-safe base64, padding optional: 32 bytes if `exact`,
    at least 32 otherwise."""
    standard = encoded.strip().replace("-", "+").replace("_", "/")
    try:
        key = base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise Failure(f"{name} is not valid base64") from None
    if (exact and len(key) != 32) or len(key) < 32:
        raise Failure(f"{name} is {len(key)} bytes; expected 32")
    return key


def parse_encryption_keys(raw):
    """'k1:<b64>,k2:<b64>' -> {'k1': AESGCM, ...}."""
    keys = {}
    for number, entry in enumerate(filter(None, map(str.strip, raw.split(","))), 1):
        key_id, _, encoded = (part.strip() for part in entry.partition(":"))
        name = f"LIS_ENCRYPTION_KEYS entry {number} ({key_id!r})"
        keys[key_id] = AESGCM(decode_key(encoded, name, exact=True))
    if not keys:
        raise Failure("LIS_ENCRYPTION_KEYS is empty; give every key ever used")
    return keys


def read_settings(key_file):
    """The key settings: the environment, overridden by `key_file`'s lines."""
    values = {
        name: os.environ.get(name, "")
        for name in ("LIS_ENCRYPTION_KEYS", "LIS_BLIND_INDEX_KEY")
    }
    if key_file:
        with open(key_file, encoding="utf-8") as handle:
            for line in handle:
                name, separator, value = line.partition("=")
                if separator and not name.strip().startswith("#"):
                    values[name.strip()] = value.strip()
    return values


# -- tokens ----------------------------------------------------------------------


def canonical_context(raw):
    """The row context as it is bound: a UUID, lowercase, hyphenated (SQLite
    stores 32 hex digits, PostgreSQL shows the hyphenated form)."""
    try:
        return str(uuid.UUID(str(raw).strip()))
    except ValueError:
        raise Failure(f"{CONTEXT_COLUMN} {raw!r} is not a UUID") from None


def associated_data(kind, key_id, model, field, context):
    """What the cipher authenticates besides the plaintext."""
    return f"enc1|{kind}|{key_id}|{model}|{field}|{context}".encode()


def open_token(token, keys, model, field, context):
    """(kind, plaintext bytes) of `token`; ValueError saying why not."""
    match = TOKEN.fullmatch(token)
    if match is None:
        raise ValueError("not a token")
    key_id, payload = match.groups()
    cipher = keys.get(key_id)
    if cipher is None:
        raise ValueError(f"key id {key_id!r} is not in LIS_ENCRYPTION_KEYS")
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) < NONCE_BYTES + TAG_BYTES:
        raise ValueError("truncated or corrupted")
    nonce, sealed = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
    for kind in KINDS:
        data = associated_data(kind, key_id, model, field, context)
        try:
            return kind, cipher.decrypt(nonce, sealed, data)
        except InvalidTag:
            continue
    raise ValueError(
        f"authentication failed under key id {key_id!r} (altered, another row's "
        "or field's value, another model name, or a different key under that id)"
    )


def plaintext(kind, data, for_csv):
    """The value to print: text, a JSON value (JSON text in CSV), base64."""
    if kind == "str":
        return data.decode("utf-8")
    if kind == "json":
        return data.decode("utf-8") if for_csv else json.loads(data)
    return base64.b64encode(data).decode()


# -- rows ------------------------------------------------------------------------


def read_rows(path):
    """(columns, rows as dicts) of a CSV file with a header or JSON lines."""
    with open(path, encoding="utf-8", newline="") as handle:
        text = handle.read()
    if text.lstrip().startswith("{"):
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
        columns = list(dict.fromkeys(name for row in rows for name in row))
        return columns, rows
    reader = csv.DictReader(text.splitlines())
    return list(reader.fieldnames or []), list(reader)


def decrypt_rows(columns, rows, keys, model, for_csv, report):
    """Each row with its tokens replaced by plaintexts; `report(message)` for
    each token that could not be decrypted (its cell becomes None)."""
    if CONTEXT_COLUMN not in columns:
        raise Failure(f"the input has no {CONTEXT_COLUMN} column")
    for number, row in enumerate(rows, start=1):
        context = row.get(CONTEXT_COLUMN)
        opened = dict(row)
        for column, value in row.items():
            if not (isinstance(value, str) and value.startswith("enc1:")):
                continue
            where = f"row {number} (id {row.get('id', '?')}), column {column}"
            try:
                kind, data = open_token(
                    value, keys, model, column, canonical_context(context)
                )
            except (ValueError, Failure) as problem:
                report(f"cannot decrypt {where}: {problem}")
                opened[column] = None
                continue
            opened[column] = plaintext(kind, data, for_csv)
        yield opened


def write_rows(columns, rows, jsonl, out):
    if jsonl:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        return
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})


# -- blind indexes ---------------------------------------------------------------


def length_prefixed(*parts):
    return b"".join(len(part).to_bytes(2, "big") + part for part in parts)


def lab_blind_index(key, value, domain, lab_id):
    """v2: HMAC-SHA256 under HKDF-SHA256(key, info=<label, v2, domain, lab>)."""
    info = length_prefixed(
        b"lis-blind-index", b"v2", domain.encode(), str(int(lab_id)).encode()
    )
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(
        key
    )
    digest = hmac.new(derived, value.encode(), hashlib.sha256).digest()
    return "v2:" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def global_blind_index(key, value, domain):
    """v1 (legacy): HMAC-SHA256 of domain NUL value under the key, hex."""
    message = domain.encode() + b"\x00" + value.encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


# -- command line ----------------------------------------------------------------


def arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--key-file", help="NAME=value lines (else the environment)")
    commands = parser.add_subparsers(dest="command", required=True)
    decrypt = commands.add_parser("decrypt", help="rows of one table, dumped")
    decrypt.add_argument("--model", required=True, help="app_label.model, lower case")
    decrypt.add_argument("--jsonl", action="store_true", help="write JSON lines")
    decrypt.add_argument("rows", help="CSV with a header, or JSON lines")
    index = commands.add_parser("blind-index", help="the index of a value")
    index.add_argument("--model", required=True, help="app_label.model, lower case")
    index.add_argument("--field", required=True, help="the encrypted field's name")
    index.add_argument("--lab", type=int, help="the row's lab id (v2)")
    index.add_argument("--legacy", action="store_true", help="the global v1 index")
    index.add_argument("value", help="the normalised value")
    return parser.parse_args(argv)


def main(argv=None):
    options = arguments(argv)
    configured = read_settings(options.key_file)
    if options.command == "blind-index":
        key = decode_key(
            configured["LIS_BLIND_INDEX_KEY"], "LIS_BLIND_INDEX_KEY", False
        )
        domain = f"{options.model}|{options.field}"
        if not options.value:
            print("")  # an empty value has an empty index, which matches nothing
        elif options.legacy:
            print(global_blind_index(key, options.value, domain))
        elif options.lab is None:
            raise Failure("give the row's lab (--lab ID), or --legacy")
        else:
            print(lab_blind_index(key, options.value, domain, options.lab))
        return 0
    keys = parse_encryption_keys(configured["LIS_ENCRYPTION_KEYS"])
    columns, rows = read_rows(options.rows)
    problems = []
    opened = list(
        decrypt_rows(
            columns, rows, keys, options.model, not options.jsonl, problems.append
        )
    )
    write_rows(columns, opened, options.jsonl, sys.stdout)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (Failure, OSError, KeyError, json.JSONDecodeError) as failure:
        print(f"decrypt_fields: {failure}", file=sys.stderr)
        sys.exit(2)
