"""The part of Elasticsearch's query DSL the database store understands.

`DatabaseSearchClient.search` takes the same query and sort as
Elasticsearch, for the subset below, and refuses anything else with an error
that says what it supports, rather than silently matching too much:

- `{"match_all": {}}`
- `{"term": {"lab_id": 3}}` or `{"term": {"lab_id": {"value": 3}}}`
- `{"terms": {"action": ["create", "update"]}}`
- `{"range": {"created_at": {"gte": ..., "lt": ...}}}` (gt, gte, lt, lte)
- `{"exists": {"field": "actor_id"}}`
- `{"bool": {"filter": [...], "must": [...], "must_not": [...]}}`

Fields are top-level keys of the document, or dotted paths into nested
objects (`"actor.id"`). Datetimes compare as the UTC text documents store
(see `types.format_datetime`), so pass aware datetimes or that same text.
Sort: `"created_at"`, `"created_at:desc"`, `{"created_at": "desc"}`,
`{"created_at": {"order": "desc"}}`, or a list of those (not `_id`, which
Elasticsearch 9 cannot sort on).
"""

import re
from collections.abc import Mapping
from typing import Any

from django.db.models import Q

from core.models.search import SearchDocument
from core.utils.elastic_search.errors import SearchRequestError
from core.utils.elastic_search.types import to_json_value

_RANGE_OPERATORS = {"gt": "gt", "gte": "gte", "lt": "lt", "lte": "lte"}
_FIELD = re.compile(r"^[A-Za-z0-9@][A-Za-z0-9_@-]*(\.[A-Za-z0-9@][A-Za-z0-9_@-]*)*$")
SUPPORTED = "match_all, term, terms, range, exists, bool (filter, must, must_not)"


def query_to_q(query: Mapping[str, Any] | None) -> Q:
    """A Django `Q` over `SearchDocument.body` for an Elasticsearch query.

    Example: `query_to_q({"term": {"lab_id": 3}})` -> `Q(body__lab_id=3)`.
    """
    if not query:
        return Q()
    if not isinstance(query, Mapping) or len(query) != 1:
        raise SearchRequestError(
            "a query is one clause such as {'term': {...}}; "
            f"supported: {SUPPORTED}."
        )
    ((kind, body),) = query.items()
    handler = _HANDLERS.get(kind)
    if handler is None:
        raise SearchRequestError(
            f"the database search store does not support {kind!r} queries; "
            f"supported: {SUPPORTED}. Use Elasticsearch (ES_URL) for full queries."
        )
    return handler(body)


def parse_sort(sort: Any) -> list[tuple[str, str]]:
    """An Elasticsearch sort as `(field, "asc" | "desc")` pairs.

    Example: `parse_sort(["lab_id", {"created_at": "desc"}])` ->
    `[("lab_id", "asc"), ("created_at", "desc")]`.
    """
    if sort is None:
        return []
    clauses = sort if isinstance(sort, list) else [sort]
    return [_sort_clause(clause) for clause in clauses]


def sort_to_order_by(sort: Any) -> list[str]:
    """`order_by()` arguments for an Elasticsearch sort, ending with the id as
    a tie-breaker so pages are stable.

    Example: `sort_to_order_by([{"created_at": "desc"}])` ->
    `["-body__created_at", "doc_id"]`.
    """
    order_by = []
    for name, order in parse_sort(sort):
        path = _path(name)
        order_by.append(f"-{path}" if order == "desc" else path)
    return [*order_by, "doc_id"]


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
    if name == "_id":
        raise SearchRequestError(
            "Elasticsearch 9 cannot sort on _id; sort on a field of the "
            "documents, e.g. 'created_at:desc'."
        )
    _path(name)  # refuses a name the store cannot sort on
    return name, order


def _path(name: Any) -> str:
    # "__" would be read by Django as a lookup, not as part of the name.
    if not isinstance(name, str) or not _FIELD.match(name) or "__" in name:
        raise SearchRequestError(
            f"{name!r} is not a field name the database store can filter on: use "
            "letters, digits, '_', '-' and dots between nested names."
        )
    return "body__" + name.replace(".", "__")


def _single(kind: str, body: Any) -> tuple[str, Any]:
    if not isinstance(body, Mapping) or len(body) != 1:
        raise SearchRequestError(f"a {kind!r} query names exactly one field.")
    ((name, value),) = body.items()
    return name, value


def _term(body: Any) -> Q:
    name, value = _single("term", body)
    if isinstance(value, Mapping):
        value = value.get("value")
    if isinstance(value, list | dict) or value is None:
        raise SearchRequestError("a 'term' value is one string, number or boolean.")
    return Q(**{_path(name): to_json_value(value)})


def _terms(body: Any) -> Q:
    name, values = _single("terms", body)
    if not isinstance(values, list) or not values:
        raise SearchRequestError("a 'terms' query takes a non-empty list of values.")
    path = _path(name)
    combined = Q()
    # OR of exact matches: `__in` on a JSON key is not portable to SQLite.
    for value in values:
        combined |= Q(**{path: to_json_value(value)})
    return combined


def _range(body: Any) -> Q:
    name, bounds = _single("range", body)
    if not isinstance(bounds, Mapping) or not bounds:
        raise SearchRequestError("a 'range' query takes bounds: gt, gte, lt or lte.")
    unknown = set(bounds) - set(_RANGE_OPERATORS) - {"format", "time_zone"}
    if unknown:
        raise SearchRequestError(
            f"range bounds {sorted(unknown)} are not supported; use gt, gte, lt, lte."
        )
    path = _path(name)
    bounded = Q(
        **{
            f"{path}__{lookup}": to_json_value(bounds[op])
            for op, lookup in _RANGE_OPERATORS.items()
            if op in bounds
        }
    )
    # SQLite compares a JSON null as the text 'null'; null is in no range.
    return bounded & ~Q(**{path: None})


def _exists(body: Any) -> Q:
    if not isinstance(body, Mapping) or "field" not in body:
        raise SearchRequestError("an 'exists' query is {'exists': {'field': name}}.")
    path = _path(body["field"])
    # Like Elasticsearch, a field holding null does not exist.
    return Q(**{f"{path}__isnull": False}) & ~Q(**{path: None})


def _match_all(body: Any) -> Q:
    return Q()


def _bool(body: Any) -> Q:
    if not isinstance(body, Mapping):
        raise SearchRequestError("a 'bool' query takes filter, must and must_not.")
    unknown = set(body) - {"filter", "must", "must_not"}
    if unknown:
        raise SearchRequestError(
            f"bool clauses {sorted(unknown)} are not supported by the database "
            "store; use filter, must and must_not."
        )
    combined = Q()
    for key in ("filter", "must"):
        for clause in _clauses(body.get(key)):
            combined &= query_to_q(clause)
    for clause in _clauses(body.get("must_not")):
        # A subquery, not ~Q: SQL's NOT over a missing key is NULL, which
        # would drop documents without the field; Elasticsearch keeps them.
        matching = SearchDocument.objects.filter(query_to_q(clause)).values("pk")
        combined &= ~Q(pk__in=matching)
    return combined


def _clauses(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


_HANDLERS = {
    "match_all": _match_all,
    "term": _term,
    "terms": _terms,
    "range": _range,
    "exists": _exists,
    "bool": _bool,
}
