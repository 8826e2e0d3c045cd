"""The stand-in's response bodies, in the shapes Elasticsearch 9 documents,
and its check of index template bodies."""

import base64
from typing import Any

from tests.standins.elasticsearch.query import field_value

#: Field types whose values must be integers (or null) in a document.
INTEGER_TYPES = {"long", "integer", "short", "byte"}
#: Elasticsearch 9's security errors on a read, by status (400: a query it
#: cannot run), as its REST layer writes them.
READ_ERRORS = {
    401: ("security_exception", "unable to authenticate with provided "
          "credentials and anonymous access is not allowed for this request"),
    403: ("security_exception", "action [indices:data/read/search] is "
          "unauthorized for API key id [stand-in] of user [shipper] on indices "
          "[activity-*], this action is granted by the index privileges "
          "[read,all]"),
    400: ("illegal_argument_exception", "the stand-in was told to refuse "
          "this search"),
}  # fmt: skip
#: A write's shard report: one primary written, its replica not allocated
#: (a one-node cluster), as in the documented examples.
SHARDS = {"total": 2, "successful": 1, "failed": 0}


def not_integer(value: Any) -> bool:
    """True for a non-null value a `long`/`integer` field would refuse."""
    return value is not None and (isinstance(value, bool) or not isinstance(value, int))


def mapping_error(mappings: dict[str, Any], source: dict[str, Any]) -> dict[str, Any]:
    """Elasticsearch's error for a document `mappings` refuse, or {}."""
    fields = mappings.get("properties", {})
    if mappings.get("dynamic") == "strict":
        for name in source:
            if name not in fields:
                return {
                    "type": "strict_dynamic_mapping_exception",
                    "reason": "mapping set to strict, dynamic introduction "
                    f"of [{name}] within [_doc] is not allowed",
                }
    for name, spec in fields.items():
        value = source.get(name)
        if spec.get("type") in INTEGER_TYPES and not_integer(value):
            return {
                "type": "document_parsing_exception",
                "reason": f"failed to parse field [{name}] of type "
                f"[{spec['type']}]: {value!r}",
            }
    return {}


def parsing_error(doc_id: str, kind: str) -> dict[str, Any]:
    """A bulk item's `error` for a document whose field the mapping cannot
    parse, as Elasticsearch 9 writes it (the cause nested in `caused_by`)."""
    return {
        "type": kind,
        "reason": f"[1:42] failed to parse field [client_ip] of type [ip] in "
        f"document with id '{doc_id}'. Preview of field's value: 'not-an-ip'",
        "caused_by": {
            "type": "illegal_argument_exception",
            "reason": "'not-an-ip' is not an IP string literal.",
        },
    }


def read_error(status: int) -> dict[str, Any]:
    """The error body of a refused read (see READ_ERRORS)."""
    if status not in READ_ERRORS:
        raise ValueError(f"no read error for status {status}; use {list(READ_ERRORS)}")
    return error(*READ_ERRORS[status], status)


def template_problem(body: Any) -> str:
    """What is wrong with a composable index template body, or ""."""
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    unknown = set(body) - {"index_patterns", "template", "priority", "version",
                           "composed_of", "_meta"}  # fmt: skip
    if unknown:
        return f"unknown keys {sorted(unknown)}"
    patterns = body.get("index_patterns")
    if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
        return "index_patterns must be a list of strings"
    template = body.get("template", {})
    if not isinstance(template, dict) or set(template) - {"mappings", "settings",
                                                         "aliases"}:  # fmt: skip
        return "template takes mappings, settings and aliases"
    if not isinstance(body.get("priority", 0), int):
        return "priority must be an integer"
    return ""


def item(op: str, index: str, doc_id: str, status: int, **extra: Any) -> dict[str, Any]:
    """One entry of a bulk response's `items`."""
    return {op: {"_index": index, "_id": doc_id, "status": status, **extra}}


def sort_key(field: str, doc: tuple[str, str, dict[str, Any]]) -> tuple[bool, Any]:
    """Sort key of a search candidate `(index, id, source)` on `field`."""
    _, doc_id, source = doc
    value = doc_id if field == "_id" else field_value(source, field)
    return (value is None, value if value is not None else 0)


def hits(page: list[dict[str, Any]], total: int) -> dict[str, Any]:
    return {
        "took": 1,
        "timed_out": False,
        "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
        "hits": {"total": {"value": total, "relation": "eq"}, "max_score": None,
                 "hits": page},
    }  # fmt: skip


def info() -> dict[str, Any]:
    return {
        "name": "stand-in",
        "cluster_name": "stand-in",
        "version": {"number": "9.1.0", "build_flavor": "default"},
        "tagline": "You Know, for Search",
    }


def error(kind: str, reason: str, status: int = 400) -> dict[str, Any]:
    """Elasticsearch's error body: the cause, also listed as the root cause."""
    cause = {"type": kind, "reason": reason}
    return {"error": {"root_cause": [cause], **cause}, "status": status}


def expected_auth(api_key: str | None, basic_auth: tuple[str, str] | None) -> str:
    if api_key:
        return f"ApiKey {api_key}"
    if basic_auth:
        token = base64.b64encode(":".join(basic_auth).encode()).decode()
        return f"Basic {token}"
    return ""
