"""How activity log entries are laid out in Elasticsearch.

Entries go to monthly indices (`activity-2026.11`, by the entry's UTC
month) created from one index template, so every index gets the same
explicit mappings without the shipper creating indices itself. The entry id
is both the document id (re-shipping an entry overwrites it, harmlessly)
and a `long` field, the sort key of `get_activities` (newest first) and its
cursor. The shipper writes documents with `to_document`; the reader turns
hits back into unsaved `ActivityLog` objects with `from_document`, so a
caller cannot tell which store answered.
"""

import datetime as dt
from typing import Any

from core.activity_log.models import ActivityLog

INDEX_PREFIX = "activity-"
#: Every monthly index, for searches.
INDEX_PATTERN = f"{INDEX_PREFIX}*"
TEMPLATE_NAME = "activity-log"
#: Above the default templates' priorities (Elasticsearch ships some at 100+
#: for its own patterns); ours only claims `activity-*`.
TEMPLATE_PRIORITY = 200

#: Free text: words for people (`text`) and substrings for `get_activities`'s
#: `text` filter (a `regexp` query on the `wildcard` sub-field), which must
#: find what the database finds (core/activity_log/text_match.py).
_FREE_TEXT = {"type": "text", "fields": {"substring": {"type": "wildcard"}}}

#: Explicit mappings: keyword ids for exact filters, dates as dates, nothing
#: left to dynamic mapping's guesses (`dynamic: strict` refuses a document
#: with a field not listed here instead of indexing it blindly).
MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "id": {"type": "long"},
        "lab_id": {"type": "long"},
        "parent_lab_id": {"type": "long"},
        "model_label": {"type": "keyword"},
        "instance_id": {"type": "keyword"},
        "action": {"type": "keyword"},
        "category_id": {"type": "integer"},
        "message": _FREE_TEXT,
        "reason": _FREE_TEXT,
        "changes": {"type": "object", "enabled": False},
        "actor_id": {"type": "keyword"},
        "actor_name": {"type": "keyword"},
        "actor_role": {"type": "keyword"},
        "actor_kind": {"type": "keyword"},
        "request_id": {"type": "keyword"},
        "client_ip": {"type": "ip"},
        "user_agent": {"type": "keyword"},
        "created_at": {"type": "date"},
    },
}
#: One primary shard per month is plenty for audit volumes; one replica so a
#: node loss loses nothing.
SETTINGS: dict[str, Any] = {"number_of_shards": 1, "number_of_replicas": 1}
_DOCUMENT_FIELDS = tuple(MAPPINGS["properties"])
#: Text columns stored as "" rather than NULL, as the table has them.
_BLANK_NOT_NULL = (
    "message", "reason", "actor_name", "actor_role", "request_id", "user_agent"
)  # fmt: skip


def index_name(created_at: dt.datetime) -> str:
    """The monthly index of an entry, e.g. `activity-2026.11` (UTC month)."""
    return f"{INDEX_PREFIX}{created_at.astimezone(dt.UTC):%Y.%m}"


def to_document(entry: ActivityLog) -> dict[str, Any]:
    """The document stored for `entry` (datetimes as aware values; the search
    client turns them into JSON)."""
    return {field: getattr(entry, field) for field in _DOCUMENT_FIELDS}


def from_document(source: dict[str, Any]) -> ActivityLog:
    """The entry a document was made from, as an unsaved `ActivityLog` with
    its id (shipped, so `shipped=True`; `sealed` is not in the document and
    is left False: ask the database for the chain)."""
    values = {field: source.get(field) for field in _DOCUMENT_FIELDS}
    values["created_at"] = dt.datetime.fromisoformat(source["created_at"])
    for field in _BLANK_NOT_NULL:
        values[field] = values[field] or ""
    entry = ActivityLog(**values, shipped=True)
    entry._state.adding = False
    return entry
