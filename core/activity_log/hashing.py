"""What an activity-log entry's hash covers, in each chain format.

The written specification, for inspectors and for verifiers in any
language, is docs/audit-trail.md; this module is the reference
implementation the test suite checks against it.

    entry_hash = hex(SHA-256(canonical(entry) || ASCII(previous_hash)))

- Format 2 (current): `canonical` is RFC 8785, the JSON Canonicalization
  Scheme, of the entry's *hashed document* (`hashed_document`): a JSON
  object of the `HASHED_FIELDS`, each mapped to a JSON value by the rules
  below. Any language with a JSON parser and SHA-256 can check it; the
  canonicalization is done by `rfc8785`, an implementation we did not write.
- Format 1 (entries sealed before format 2 existed): Python's
  `json.dumps(..., sort_keys=True, separators=(",", ":"), default=str)`
  over the same fields, `created_at` as `isoformat()` with microseconds.
  Its hashes stay as they were; exports carry the exact text that was
  hashed, so an inspector checks them without Python.

The hashed document (format 2), field by field:

- integers (`id`, `lab_id`, ...): JSON numbers, or null; any integer, at any
  depth, outside the I-JSON range +-(2**53 - 1) is written as its decimal
  string, since no JSON number can carry it exactly across languages;
- text: JSON strings, any script, as stored (text that is not valid
  Unicode, which only SQLite can hold, has each bad code point replaced
  by U+FFFD);
- `created_at`: a string, UTC, always six fractional digits:
  `2026-12-03T09:30:00.000000Z`;
- `client_ip`: the address as stored (`203.0.113.7`, `2001:db8::1`) or null;
- `changes`: the JSON object as stored; a float that is not finite (which
  only SQLite can hold) is written as the string "NaN", "Infinity" or
  "-Infinity".
"""

import datetime as dt
import hashlib
import json
import math
from typing import Any

import rfc8785

from core.activity_log.models import ActivityLog

#: The entry fields the hash covers: everything that says what happened.
HASHED_FIELDS = (
    "id", "lab_id", "parent_lab_id", "model_label", "instance_id", "action",
    "category_id", "message", "changes", "reason", "actor_id", "actor_name",
    "actor_role", "actor_kind", "request_id", "client_ip", "user_agent",
    "created_at",
)  # fmt: skip
#: The previous hash of a chain's first entry.
GENESIS_HASH = "0" * 64
#: Python's json.dumps (entries sealed before 2026-12-04).
FORMAT_PYTHON_JSON = 1
#: RFC 8785 over the hashed document.
FORMAT_JCS = 2
#: The format new seals use.
CURRENT_FORMAT = FORMAT_JCS
FORMATS = (FORMAT_PYTHON_JSON, FORMAT_JCS)
#: The largest integer every JSON implementation holds exactly (I-JSON).
MAX_SAFE_INTEGER = 2**53 - 1


def hashed_document(entry: ActivityLog) -> dict[str, Any]:
    """The entry as the JSON object format 2 hashes (see the module doc)."""
    document = {name: _json_value(getattr(entry, name)) for name in HASHED_FIELDS}
    document["created_at"] = timestamp(entry)
    return document


def timestamp(entry: ActivityLog) -> str:
    """`created_at` in UTC with microseconds: `2026-12-03T09:30:00.000000Z`."""
    return entry.created_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(entry: ActivityLog, format: int = CURRENT_FORMAT) -> bytes:
    """The exact bytes hashed for `entry` in chain format `format`."""
    if format == FORMAT_JCS:
        return rfc8785.dumps(hashed_document(entry))
    if format == FORMAT_PYTHON_JSON:
        return _python_json(entry)
    raise ValueError(f"Unknown activity-log chain format {format!r}.")


def entry_hash(
    entry: ActivityLog, previous_hash: str, format: int = CURRENT_FORMAT
) -> str:
    """SHA-256 over the canonical entry followed by the previous hash."""
    return link_hash(canonical(entry, format), previous_hash)


def link_hash(canonical_bytes: bytes, previous_hash: str) -> str:
    """hex(SHA-256(canonical bytes || ASCII previous hash))."""
    return hashlib.sha256(canonical_bytes + previous_hash.encode("ascii")).hexdigest()


def _python_json(entry: ActivityLog) -> bytes:
    data: dict[str, Any] = {name: getattr(entry, name) for name in HASHED_FIELDS}
    data["created_at"] = entry.created_at.isoformat(timespec="microseconds")
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode()


def _json_value(value: Any) -> Any:
    """`value` as the JSON value format 2 hashes."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) <= MAX_SAFE_INTEGER else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else _NON_FINITE[repr(value)]
    if isinstance(value, str):
        return _valid_unicode(value)
    if isinstance(value, dict):
        return {_valid_unicode(str(k)): _json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(item) for item in value]
    return _valid_unicode(str(value))


_NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def _valid_unicode(text: str) -> str:
    """`text` with each lone surrogate (not Unicode text) as U+FFFD.

    UTF-8 encoding fails exactly when the text holds a surrogate code
    point, and runs in C: the character loop is only for such text (which
    only SQLite can store), not for every Arabic or Devanagari string."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in text)
    return text
