#!/usr/bin/env python3
"""Verify an exported activity log (audit trail) on its own.

    python3 verify_audit_export.py EXPORT.jsonl [--manifest EXPORT.jsonl.manifest.json]

Needs Python 3.9 or later and nothing else: not the project, not its
database, no package. It follows docs/audit-trail.md, the specification of
the export and its hash chain, and nothing in the project's code.

Exit status 0: every line of every chain links to the one before and
hashes to its recorded hash, and the file and its lines are what the
manifest says. Exit status 1: the first problem found, on one line:

    FAIL <kind> chain=<chain> sequence=<sequence>: <what is wrong>

with <kind> one of manifest, malformed, link, edited, missing, format,
truncated, checkpoint. Signed checkpoints in the manifest are checked too:
each signature (Ed25519, implemented here from RFC 8032, as the standard
library has none) under the manifest's key whose id the checkpoint names
(`public_key`, or one of `public_keys` after a rotation), and each checkpoint's
hash against the exported line at its sequence. Exit status 2: the files
could not be read.
"""

import argparse
import base64
import hashlib
import json
import math
import sys
from pathlib import Path

MAX_SAFE_INTEGER = 2**53 - 1
FORMATS = (1, 2)
LINE_KEYS = ("chain", "sequence", "format", "previous_hash", "entry_hash", "entry")


class Problem(Exception):
    """The first thing wrong with the export."""

    def __init__(self, kind, message, chain=None, sequence=None):
        super().__init__(message)
        self.kind, self.chain, self.sequence = kind, chain, sequence

    def __str__(self):
        where = f"chain={self.chain} sequence={self.sequence}"
        return f"FAIL {self.kind} {where}: {self.args[0]}"


# -- RFC 8785: the JSON Canonicalization Scheme ----------------------------------


def jcs(value):
    """The RFC 8785 canonical form of a parsed JSON value, as bytes."""
    return _jcs(value).encode("utf-8")


def _jcs(value):
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return _number(value)
    if isinstance(value, str):
        # json.dumps escapes exactly what RFC 8785 (ECMAScript) escapes: the
        # quote, the backslash and U+0000..U+001F (\b \t \n \f \r or \u00xx).
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ",".join(_jcs(item) for item in value) + "]"
    if isinstance(value, dict):
        keys = sorted(value, key=lambda key: key.encode("utf-16-be"))
        members = (
            json.dumps(key, ensure_ascii=False) + ":" + _jcs(value[key]) for key in keys
        )
        return "{" + ",".join(members) + "}"
    raise ValueError(f"not a JSON value: {value!r}")


def _number(value):
    """ECMAScript's Number.prototype.toString, as RFC 8785 requires."""
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise ValueError(f"integer {value} is outside the I-JSON range")
        return str(value)
    if not math.isfinite(value):
        raise ValueError(f"{value} is not a JSON number")
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    # repr gives the shortest digits that read back as the same double, as
    # ECMAScript does; only the layout differs.
    mantissa, _, exponent = repr(abs(value)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    stripped = digits.rstrip("0")
    power = int(exponent or 0) - len(fraction) + (len(digits) - len(stripped))
    digits, k = stripped, len(stripped)
    n = k + power  # value = 0.digits * 10**n
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        e = n - 1
        exp = ("+" if e >= 0 else "-") + str(abs(e))
        text = (
            digits + "e" + exp if k == 1 else digits[0] + "." + digits[1:] + "e" + exp
        )
    return sign + text


# -- RFC 8032: Ed25519 signature verification (section 6's reference algorithm) ----

_P = 2**255 - 19
_D = -121665 * pow(121666, _P - 2, _P) % _P
_Q = 2**252 + 27742317777372353535851937790883648493
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)
#: DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410), before the key.
_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")


def _recover_x(y, sign):
    if y >= _P:
        return None
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P)
    if x2 % _P == 0:
        return None if sign else 0
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P:
        return None
    return _P - x if (x & 1) != sign else x


def _add(a, b):
    x = (a[1] - a[0]) * (b[1] - b[0]) % _P
    y = (a[1] + a[0]) * (b[1] + b[0]) % _P
    c = 2 * a[3] * b[3] * _D % _P
    d = 2 * a[2] * b[2] % _P
    e, f, g, h = y - x, d - c, d + c, y + x
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _multiply(scalar, point):
    result = (0, 1, 1, 0)
    while scalar:
        if scalar & 1:
            result = _add(result, point)
        point = _add(point, point)
        scalar >>= 1
    return result


def _same_point(a, b):
    return (a[0] * b[2] - b[0] * a[2]) % _P == 0 and (
        a[1] * b[2] - b[1] * a[2]
    ) % _P == 0


def _decompress(data):
    y = int.from_bytes(data, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    x = _recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % _P)


_GY = 4 * pow(5, _P - 2, _P) % _P
_GX = _recover_x(_GY, 0)
_BASE = (_GX, _GY, 1, _GX * _GY % _P)


def ed25519_verify(public, message, signature):
    """Whether `signature` (64 bytes) signs `message` under `public` (32)."""
    if len(public) != 32 or len(signature) != 64:
        return False
    a, r = _decompress(public), _decompress(signature[:32])
    s = int.from_bytes(signature[32:], "little")
    if a is None or r is None or s >= _Q:
        return False
    digest = hashlib.sha512(signature[:32] + public + message).digest()
    h = int.from_bytes(digest, "little") % _Q
    return _same_point(_multiply(s, _BASE), _add(r, _multiply(h, a)))


def public_key_from_pem(pem):
    """The 32 raw bytes of an Ed25519 public key PEM (SubjectPublicKeyInfo)."""
    body = "".join(line for line in pem.strip().splitlines() if "-----" not in line)
    der = base64.b64decode(body)
    if len(der) != 44 or not der.startswith(_SPKI_PREFIX):
        raise ValueError("not an Ed25519 public key")
    return der[len(_SPKI_PREFIX) :]


# -- the export -------------------------------------------------------------------


def link_hash(canonical_bytes, previous_hash):
    return hashlib.sha256(canonical_bytes + previous_hash.encode("ascii")).hexdigest()


def _refuse_constant(name):
    raise ValueError(f"{name} is not JSON")


def _parse(text):
    return json.loads(text, parse_constant=_refuse_constant)


def verify(export_path, manifest_path):
    """Raise Problem at the first problem; return (entries, chains) if none."""
    manifest = _manifest(manifest_path)
    digest = hashlib.sha256(export_path.read_bytes()).hexdigest()
    if digest != manifest.get("sha256"):
        raise Problem(
            "manifest",
            f"the file's SHA-256 is {digest}, "
            f"the manifest says {manifest.get('sha256')}",
        )
    expected = {run["chain"]: run for run in manifest.get("chains", [])}
    keys = _public_keys(manifest)
    checkpoints = {
        (run["chain"], document["payload"]["sequence"]): document
        for run in expected.values()
        for document in run.get("checkpoints", [])
    }
    for (chain, sequence), document in checkpoints.items():
        _check_signature(keys, document, chain, sequence)
    state = {}
    count = 0
    with export_path.open(encoding="utf-8", newline="\n") as lines:
        for number, text in enumerate(lines, 1):
            line = _line(text, number)
            chain = line["chain"]
            if chain not in expected:
                raise Problem(
                    "manifest",
                    f"line {number}: the manifest has no chain {chain}",
                    chain,
                    line["sequence"],
                )
            state[chain] = _check_link(line, expected[chain], state.get(chain))
            _check_checkpoint(line, checkpoints.get((chain, line["sequence"])))
            count += 1
    for chain, run in expected.items():
        _check_end(chain, run, state.get(chain))
    if count != manifest.get("count"):
        raise Problem(
            "manifest", f"{count} lines, the manifest says {manifest.get('count')}"
        )
    return count, len(expected), len(checkpoints)


def key_id(public):
    """A key's id: the first 16 hex digits of SHA-256 over its 32 raw bytes."""
    return hashlib.sha256(public).hexdigest()[:16]


def _public_keys(manifest):
    """The manifest's keys (`public_key` and the values of `public_keys`),
    by the id computed here: the manifest's own labels are not trusted."""
    retired = manifest.get("public_keys") or {}
    if not isinstance(retired, dict):
        raise Problem("manifest", "public_keys is not an object")
    pems = [manifest.get("public_key"), *retired.values()]
    keys = {}
    for pem in pems:
        if pem is None:
            continue
        try:
            public = public_key_from_pem(pem)
        except (ValueError, AttributeError) as exc:
            raise Problem("manifest", f"a public key is not usable: {exc}") from None
        keys[key_id(public)] = public
    return keys


def _check_signature(keys, document, chain, sequence):
    """A checkpoint's signature holds under the manifest's key that it
    names, and it is about this chain."""
    if not keys:
        raise Problem("manifest", "checkpoints without a public key", chain, sequence)
    payload = document.get("payload", {})
    kid = payload.get("key_id")
    kid = kid if isinstance(kid, str) else ""
    public = keys.get(kid)
    if public is None:
        raise Problem(
            "checkpoint",
            f"signed with key '{kid}', which the manifest does not carry",
            chain,
            sequence,
        )
    try:
        signature = base64.b64decode(document["signature"], validate=True)
        signed = jcs(document["payload"])
    except (KeyError, ValueError):
        signature, signed = b"", b""
    if payload.get("chain") != chain or not ed25519_verify(public, signed, signature):
        raise Problem(
            "checkpoint", "the checkpoint's signature does not hold", chain, sequence
        )


def _check_checkpoint(line, document):
    """The exported line at a checkpoint's sequence has the signed hash."""
    if document is not None and document["payload"]["entry_hash"] != line["entry_hash"]:
        raise Problem(
            "checkpoint",
            "the line's hash differs from the checkpoint signed "
            f"{document['payload'].get('signed_at')}",
            line["chain"],
            line["sequence"],
        )


def _manifest(path):
    try:
        manifest = _parse(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise Problem("manifest", f"the manifest is not JSON: {exc}") from None
    if not isinstance(manifest, dict):
        raise Problem("manifest", "the manifest is not a JSON object")
    return manifest


def _line(text, number):
    try:
        line = _parse(text)
    except ValueError as exc:
        raise Problem("malformed", f"line {number} is not JSON: {exc}") from None
    if not (
        isinstance(line, dict)
        and all(_is_int(line.get(key)) for key in ("chain", "sequence", "format"))
        and all(
            isinstance(line.get(key), str) for key in ("previous_hash", "entry_hash")
        )
        and (line.get("entry") is None or isinstance(line.get("entry"), dict))
    ):
        raise Problem(
            "malformed",
            f"line {number} lacks one of {', '.join(LINE_KEYS)}, "
            "or one has the wrong type",
        )
    return line


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _same(a, b):
    """Equal as JSON values: numbers by value, nothing else across types."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[key], b[key]) for key in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_same, a, b))
    return type(a) is type(b) and a == b


def _check_link(line, run, last):
    """Check one line against the one before it in its chain (`last`, the
    state so far, or None for the chain's first line); the new state."""
    chain, sequence = line["chain"], line["sequence"]
    if last is None:
        want_sequence, want_previous, format_so_far = (
            run["first_sequence"],
            run["previous_hash"],
            0,
        )
    else:
        want_sequence, want_previous, format_so_far = (
            last["sequence"] + 1,
            last["hash"],
            last["format"],
        )
    if sequence != want_sequence:
        raise Problem(
            "link",
            f"expected #{want_sequence} here: a line was removed, added or moved",
            chain,
            sequence,
        )
    if line["previous_hash"] != want_previous:
        raise Problem(
            "link", "the previous hash does not match the line before", chain, sequence
        )
    if line["format"] not in FORMATS or line["format"] < format_so_far:
        raise Problem(
            "format",
            f"format {line['format']} after format {format_so_far}",
            chain,
            sequence,
        )
    if line["entry"] is None:
        raise Problem(
            "missing", "the sealed entry is missing from the database", chain, sequence
        )
    if _hash_of(line) != line["entry_hash"]:
        raise Problem(
            "edited", "the entry does not give its recorded hash", chain, sequence
        )
    return {
        "sequence": sequence,
        "hash": line["entry_hash"],
        "format": line["format"],
        "count": (last or {}).get("count", 0) + 1,
    }


def _hash_of(line):
    try:
        if line["format"] == 2:
            return link_hash(jcs(line["entry"]), line["previous_hash"])
        canonical = line.get("canonical")
        if not isinstance(canonical, str) or not _same(
            _parse(canonical), line["entry"]
        ):
            return None
        return link_hash(canonical.encode("utf-8"), line["previous_hash"])
    except ValueError:
        return None


def _check_end(chain, run, last):
    if last is None or last["sequence"] != run["last_sequence"]:
        got = "no line" if last is None else f"#{last['sequence']}"
        raise Problem(
            "truncated",
            f"the chain ends at {got}, the manifest says #{run['last_sequence']}",
            chain,
            run["last_sequence"],
        )
    if last["hash"] != run["last_hash"] or last["count"] != run["count"]:
        raise Problem(
            "manifest",
            "the last hash or the count differs from the manifest",
            chain,
            last["sequence"],
        )
    if run["head_sequence"] < run["last_sequence"] or (
        run["head_sequence"] == run["last_sequence"]
        and run["head_hash"] != run["last_hash"]
    ):
        raise Problem(
            "manifest",
            "the chain head is not at or after the last line",
            chain,
            run["head_sequence"],
        )


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Verify an activity-log export on its own."
    )
    parser.add_argument("export", type=Path)
    parser.add_argument("--manifest", type=Path, help="default: EXPORT.manifest.json")
    args = parser.parse_args(argv)
    manifest = args.manifest or args.export.with_name(
        args.export.name + ".manifest.json"
    )
    try:
        entries, chains, checkpoints = verify(args.export, manifest)
    except Problem as problem:
        print(problem)
        return 1
    except (KeyError, TypeError) as exc:
        print(Problem("manifest", f"the manifest lacks or mistypes {exc}"))
        return 1
    except OSError as exc:
        print(f"cannot read: {exc}", file=sys.stderr)
        return 2
    print(f"OK {entries} entries in {chains} chains, {checkpoints} checkpoints")
    return 0


if __name__ == "__main__":
    sys.exit(main())
