r"""The stand-in's query matcher: the part of the query DSL the project sends.

match_all, term, terms, range, exists, wildcard (with `case_insensitive`,
which folds ASCII letters only, as Lucene's AutomatonQueries do), regexp
(character classes, `.`, `*` and `\` escapes: what the reader sends) and
bool (filter, must, should with minimum_should_match, must_not). Fields
are paths into the document; a path into a multi-field (`message.substring`)
reads its parent's value, as Elasticsearch indexes a multi-field from the
same source value. A range compares ISO 8601 texts as moments (UTC when no
offset is given, as a `date` field does), other text as keywords do, and
numbers as numbers. Anything else raises
`UnsupportedQuery`, which the server answers with 400 and records as a
problem: the project must not rely on a query the stand-in does not check.
"""

import datetime as dt
import re
from typing import Any


class UnsupportedQuery(ValueError):
    """A query the stand-in does not implement, or a malformed one."""


def matches(source: dict[str, Any], query: dict[str, Any]) -> bool:
    """True when the document `source` matches `query`."""
    if not isinstance(query, dict) or len(query) != 1:
        raise UnsupportedQuery(f"a query has exactly one clause, got {query!r}")
    ((kind, body),) = query.items()
    if kind == "match_all":
        return True
    if kind == "bool":
        return _bool(source, body)
    if kind == "exists":
        return field_value(source, body["field"]) is not None
    if not isinstance(body, dict) or len(body) != 1:
        raise UnsupportedQuery(f"a {kind!r} query names one field, got {body!r}")
    ((field, spec),) = body.items()
    value = field_value(source, field)
    if kind == "term":
        return value == (spec["value"] if isinstance(spec, dict) else spec)
    if kind == "terms":
        if not isinstance(spec, list):
            raise UnsupportedQuery(f"terms on {field!r} takes a list, got {spec!r}")
        return value in spec
    if kind == "range":
        return _range(field, value, spec)
    if kind == "wildcard":
        return _wildcard(value, spec)
    if kind == "regexp":
        return _regexp(value, spec)
    raise UnsupportedQuery(f"the stand-in does not support {kind!r} queries")


def _bool(source: dict[str, Any], body: dict[str, Any]) -> bool:
    unknown = set(body) - {"filter", "must", "should", "must_not",
                           "minimum_should_match"}  # fmt: skip
    if unknown:
        raise UnsupportedQuery(f"bool does not take {sorted(unknown)}")

    def each(key: str) -> list[dict[str, Any]]:
        value = body.get(key, [])
        return value if isinstance(value, list) else [value]

    required = each("filter") + each("must")
    should = each("should")
    # Elasticsearch: with no filter/must, at least one should clause must match.
    minimum = body.get("minimum_should_match", 0 if required else 1)
    return (
        all(matches(source, q) for q in required)
        and not any(matches(source, q) for q in each("must_not"))
        and (not should or sum(matches(source, q) for q in should) >= minimum)
    )


def _range(field: str, value: Any, spec: dict[str, Any]) -> bool:
    unknown = set(spec) - {"gt", "gte", "lt", "lte"}
    if unknown:
        raise UnsupportedQuery(f"range on {field!r} does not take {sorted(unknown)}")
    if value is None:
        return False
    checks = {"gt": "__gt__", "gte": "__ge__", "lt": "__lt__", "lte": "__le__"}
    return all(
        getattr(left, checks[op])(right)
        for op, bound in spec.items()
        for left, right in [_comparable(value, bound)]
    )


def _comparable(value: Any, bound: Any) -> tuple[Any, Any]:
    """Two ISO 8601 texts compare as moments (a `date` field; no offset
    means UTC); other values as they are (numbers, keywords as text)."""
    moments = [_moment(v) for v in (value, bound)]
    if None in moments:
        return value, bound
    return moments[0], moments[1]


def _moment(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _wildcard(value: Any, spec: Any) -> bool:
    if not isinstance(spec, dict) or "value" not in spec:
        raise UnsupportedQuery(f"wildcard takes {{'value': ...}}, got {spec!r}")
    if value is None:
        return False
    pattern, text = str(spec["value"]), str(value)
    if spec.get("case_insensitive"):  # ASCII only: Elasticsearch leaves "Ä" as is
        pattern, text = _ascii_lower(pattern), _ascii_lower(text)
    return re.fullmatch(_wildcard_regex(pattern), text, re.DOTALL) is not None


def _ascii_lower(text: str) -> str:
    return "".join(c.lower() if c.isascii() else c for c in text)


def _regexp(value: Any, spec: Any) -> bool:
    if not isinstance(spec, dict) or set(spec) != {"value"}:
        raise UnsupportedQuery(f"regexp takes {{'value': ...}} only, got {spec!r}")
    if value is None:
        return False
    return (
        re.fullmatch(_lucene_regex(str(spec["value"])), str(value), re.DOTALL)
        is not None
    )


def _lucene_regex(pattern: str) -> str:
    """The Lucene RegExp subset the reader sends (`.`, `*`, `[abc]`, escapes)
    as a Python regex; any other operator is refused."""
    out, chars = [], iter(pattern)
    for char in chars:
        if char == "\\":
            out.append(re.escape(next(chars, "")))
        elif char in ".*":
            out.append(char)
        elif char == "[":
            members = []
            for member in chars:
                if member == "]":
                    break
                if member in "-^\\[":
                    raise UnsupportedQuery(f"regexp class member {member!r}")
                members.append(re.escape(member))
            out.append("[" + "".join(members) + "]")
        elif char in '?+|(){}]"#@&<>~':
            raise UnsupportedQuery(f"regexp operator {char!r} is not supported")
        else:
            out.append(re.escape(char))
    return "".join(out)


def _wildcard_regex(pattern: str) -> str:
    """Elasticsearch wildcard syntax (`*`, `?`, `\\` escapes) as a regex."""
    out, escaped = [], False
    for char in pattern:
        if escaped:
            out.append(re.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in "*?":
            out.append(".*" if char == "*" else ".")
        else:
            out.append(re.escape(char))
    return "".join(out)


def field_value(source: dict[str, Any], field: str) -> Any:
    """The value at a dotted path; a multi-field path reads its parent."""
    value: Any = source
    for part in field.split("."):
        if not isinstance(value, dict):
            return value if isinstance(value, str) else None
        value = value.get(part)
    return value
