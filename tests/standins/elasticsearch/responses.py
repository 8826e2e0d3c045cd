"""The stand-in's response bodies, in the shapes Elasticsearch 9 documents,
and its check of index template bodies."""

import base64
from typing import Any

from tests.standins.elasticsearch.query import field_value

#: A write's shard report: one primary written, its replica not allocated
#: (a one-node cluster), as in the documented examples.
SHARDS = {"total": 2, "successful": 1, "failed": 0}


def not_integer(value: Any) -> bool:
    """True for a non-null value a `long`/`integer` field would refuse."""
    return value is not None and (isinstance(value, bool) or not isinstance(value, int))


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
