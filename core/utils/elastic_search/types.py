"""The search client's vocabulary: result types, bulk actions, index names,
sorts and documents, checked before anything is sent to Elasticsearch, so a
bad request fails here with an error that says what would be right.
"""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from core.utils.elastic_search.errors import SearchRequestError

#: Bulk operations both clients support (Elasticsearch's `update` is not).
BULK_OPERATIONS = ("index", "create", "delete")
#: Elasticsearch's limit on index names, in bytes.
MAX_INDEX_NAME_BYTES = 255
#: Elasticsearch's limit on document ids, in bytes.
MAX_DOC_ID_BYTES = 512
_FORBIDDEN_INDEX_CHARS = re.compile(r'[\\/*?"<>| ,#:A-Z]')


@dataclass(frozen=True)
class SearchHit:
    """One matching document: `SearchHit(index="activity", id="7", source={...})`."""

    index: str
    id: str
    source: dict[str, Any]


@dataclass(frozen=True)
class SearchResult:
    """`total` matches in all (not just this page) and this page's `hits`."""

    total: int
    hits: list[SearchHit]


@dataclass(frozen=True)
class BulkFailure:
    """One bulk action that did not apply.

    `position` is the action's place in the list given to `bulk()`, so the
    caller can retry exactly the failed ones. `status` is the HTTP-style
    status (409 conflict, 400 bad document, 429/503 overloaded, 0 when the
    request never got an answer). Example:
    `BulkFailure(position=3, index="activity", id="9", status=400,
    error="mapper_parsing_exception: failed to parse field [lab_id]",
    error_type="mapper_parsing_exception")`. `error_type` is Elasticsearch's
    error type ("" when the request got no answer).
    """

    position: int
    index: str | None
    id: str | None
    status: int
    error: str
    error_type: str = ""


@dataclass
class BulkResult:
    """How a `bulk()` call went: how many actions applied, and which failed."""

    succeeded: int = 0
    failures: list[BulkFailure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every action applied."""
        return not self.failures


@dataclass(frozen=True)
class BulkAction:
    """A checked bulk action; see `parse_bulk_action`."""

    op: str
    index: str
    id: str | None
    source: dict[str, Any] | None


def parse_bulk_action(action: Mapping[str, Any]) -> BulkAction:
    """Check one action in `elasticsearch.helpers` form and return it parsed.

    Example: `{"_op_type": "index", "_index": "activity", "_id": "7",
    "_source": {"lab_id": 3}}`; `_op_type` defaults to `index`, `_id` is
    optional for `index`. Raises `SearchRequestError` saying what is wrong.
    """
    op = action.get("_op_type", "index")
    if op not in BULK_OPERATIONS:
        raise SearchRequestError(
            f"_op_type {op!r} is not supported; use one of "
            f"{', '.join(BULK_OPERATIONS)}."
        )
    index = check_index_name(action.get("_index"))
    doc_id = action.get("_id")
    if doc_id is not None:
        doc_id = check_doc_id(doc_id)
    elif op != "index":
        raise SearchRequestError(f"a {op!r} action needs an _id.")
    source = None
    if op != "delete":
        raw = action.get("_source")
        if not isinstance(raw, Mapping):
            raise SearchRequestError(
                f"an {op!r} action needs a _source dict, not {type(raw).__name__}."
            )
        source = to_json_document(raw)
    return BulkAction(op=op, index=index, id=doc_id, source=source)


def failure_for(position: int, raw: Any, status: int, error: str) -> BulkFailure:
    """A `BulkFailure` for an action that could not even be parsed."""
    index = raw.get("_index") if isinstance(raw, Mapping) else None
    doc_id = raw.get("_id") if isinstance(raw, Mapping) else None
    return BulkFailure(
        position=position,
        index=index if isinstance(index, str) else None,
        id=str(doc_id) if doc_id is not None else None,
        status=status,
        error=error,
    )


def check_index_name(name: Any) -> str:
    """`name` if Elasticsearch would accept it as an index name."""
    if not isinstance(name, str) or not name:
        raise SearchRequestError("an index name is required, e.g. 'activity-logs'.")
    if (
        name in {".", ".."}
        or name[0] in "-_+"
        or _FORBIDDEN_INDEX_CHARS.search(name)
        or len(name.encode()) > MAX_INDEX_NAME_BYTES
    ):
        raise SearchRequestError(
            f"{name!r} is not a valid index name: use lowercase letters, digits "
            "and '-', '_', '.', not starting with '-', '_' or '+', at most "
            f"{MAX_INDEX_NAME_BYTES} bytes."
        )
    return name


def check_index_pattern(pattern: Any) -> str:
    """`pattern` if it is an index name, or a name prefix ending in `*`
    (`activity-*`), as searches take."""
    if isinstance(pattern, str) and pattern.endswith("*") and len(pattern) > 1:
        check_index_name(pattern[:-1])
        return pattern
    return check_index_name(pattern)


def check_doc_id(doc_id: Any) -> str:
    """`doc_id` as a string, if Elasticsearch would accept it."""
    if isinstance(doc_id, bool) or not isinstance(doc_id, str | int):
        raise SearchRequestError(
            f"a document id is a string or an integer, not {type(doc_id).__name__}."
        )
    text = str(doc_id)
    if not text or len(text.encode()) > MAX_DOC_ID_BYTES:
        raise SearchRequestError(
            f"a document id has 1 to {MAX_DOC_ID_BYTES} bytes; this one has "
            f"{len(text.encode())}."
        )
    return text


class _DocumentEncoder(DjangoJSONEncoder):
    """DjangoJSONEncoder, with every datetime in one form.

    Datetimes become UTC with microseconds, `2024-05-01T09:30:00.000000Z`
    (Elasticsearch's `date` type parses it, and as text it still sorts like
    time); naive ones are refused. Dates stay `2024-05-01`.
    """

    def default(self, o: Any) -> Any:
        if isinstance(o, datetime):
            return format_datetime(o)
        return super().default(o)


def format_datetime(value: datetime) -> str:
    """An aware datetime as `YYYY-MM-DDTHH:MM:SS.ffffffZ` in UTC."""
    if value.tzinfo is None:
        raise SearchRequestError(
            "datetimes in documents and queries must be timezone-aware "
            "(django.utils.timezone.now())."
        )
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def to_json_document(document: Mapping[str, Any]) -> dict[str, Any]:
    """`document` as plain JSON types (datetimes as sortable UTC text)."""
    try:
        converted: dict[str, Any] = json.loads(
            json.dumps(document, cls=_DocumentEncoder)
        )
    except (TypeError, ValueError) as exc:
        raise SearchRequestError(
            f"the document cannot be stored as JSON: {exc}"
        ) from None
    return converted


def parse_sort(sort: Any) -> list[tuple[str, str]]:
    """A sort as `(field, "asc" | "desc")` pairs.

    Takes `"created_at"`, `"created_at:desc"`, `{"created_at": "desc"}`,
    `{"created_at": {"order": "desc"}}`, or a list of those. Example:
    `parse_sort(["lab_id", {"created_at": "desc"}])` ->
    `[("lab_id", "asc"), ("created_at", "desc")]`.
    """
    if sort is None:
        return []
    clauses = sort if isinstance(sort, list) else [sort]
    return [_sort_clause(clause) for clause in clauses]


def _sort_clause(clause: Any) -> tuple[str, str]:
    if isinstance(clause, str):
        name, _, order = clause.partition(":")
    elif isinstance(clause, Mapping) and len(clause) == 1:
        ((name, spec),) = clause.items()
        order = spec.get("order", "asc") if isinstance(spec, Mapping) else spec
    else:
        raise SearchRequestError(
            "a sort is 'field', 'field:desc', {'field': 'desc'} or "
            "{'field': {'order': 'desc'}}, or a list of those."
        )
    order = order or "asc"
    if order not in {"asc", "desc"}:
        raise SearchRequestError(f"sort order {order!r} must be 'asc' or 'desc'.")
    if not isinstance(name, str) or not name:
        raise SearchRequestError("a sort names a field, e.g. 'created_at:desc'.")
    if name == "_id":
        raise SearchRequestError(
            "Elasticsearch 9 cannot sort on _id; sort on a field of the "
            "documents, e.g. 'created_at:desc'."
        )
    return name, order
