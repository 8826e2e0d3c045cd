"""Hypothesis strategies of JSON *text* (not Python values), so that bodies
can hold what no JSON encoder writes: NaN, Infinity, 1e400, integers of
thousands of digits, lone surrogates and NUL as escapes, duplicate keys,
nesting thousands deep; and of raw bytes that are not JSON at all."""

import json
from collections.abc import Mapping, Sequence

from hypothesis import strategies as st

from core.utils.json_input import MAX_DEPTH

#: Numbers a JSON encoder would never write, or a parser may choke on.
NASTY_NUMBERS = (
    "NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1E+999", "9" * 4301,
    "-" + "1" * 5000, str(2**53), str(-(2**53)), str(2**63), str(2**64),
    "1.0", "-0", "0.0", "1e-400", "1e308", "123456789012345678901234567890",
)  # fmt: skip
#: Strings that are valid JSON but not text one can store, or look like
#: another type.
NASTY_STRINGS = (
    '"\\u0000"', '"a\\u0000b"', '"\\ud800"', '"x\\udfff"', '"\\udc00\\ud800"',
    '"\\ufffe"', '"\\uffff"', '"\\udbff\\udfff"', '""', '" "', '"1 "', '"1"',
    '"true"', '"null"', '"1990-04-01"', '"19900101"', '"2999-01-01"',
    '"0000-00-00"', '"{\'x\': 1}"', '"\\\\"', '"\\u202e"', '"\\ud83d\\ude00"',
)  # fmt: skip

#: Any character, the surrogates and NUL included (Hypothesis leaves
#: surrogates out by default).
ANY_CHARACTER = st.characters(exclude_categories=())


def encoded(value: object) -> str:
    """`value` as JSON text; surrogates go out as \\uXXXX escapes."""
    return json.dumps(value)  # ensure_ascii: a lone surrogate becomes "\\ud800"


def scalars() -> st.SearchStrategy[str]:
    """The text of one JSON scalar, nasty ones often."""
    return st.one_of(
        st.sampled_from(NASTY_NUMBERS),
        st.sampled_from(NASTY_STRINGS),
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(),
            st.floats(allow_nan=True, allow_infinity=True),
            st.text(ANY_CHARACTER, max_size=20),
        ).map(encoded),
    )


def keys() -> st.SearchStrategy[str]:
    """The text of an object key."""
    return st.one_of(
        st.sampled_from(NASTY_STRINGS),
        st.text(ANY_CHARACTER, max_size=10).map(encoded),
    )


def values(max_leaves: int = 12) -> st.SearchStrategy[str]:
    """The text of any JSON value: scalars, lists and objects of them, and
    nesting around MAX_DEPTH and far past it."""
    return st.one_of(
        st.recursive(
            scalars(),
            lambda children: st.one_of(
                st.lists(children, max_size=4).map(
                    lambda items: f"[{','.join(items)}]"
                ),
                objects(st.lists(st.tuples(keys(), children), max_size=4)),
            ),
            max_leaves=max_leaves,
        ),
        deep(),
    )


def deep() -> st.SearchStrategy[str]:
    """Lists or objects nested just under, at, just past and far past the
    parser's limit (thousands of levels exhaust the stdlib's recursion)."""
    depth = st.one_of(
        st.integers(MAX_DEPTH - 2, MAX_DEPTH + 2),
        st.sampled_from([500, 5_000, 100_000]),
    )
    as_lists = depth.map(lambda d: "[" * d + "1" + "]" * d)
    as_objects = depth.map(lambda d: '{"a":' * d + "1" + "}" * d)
    return st.one_of(as_lists, as_objects)


def bodies(
    shapes: Sequence[Mapping[str, st.SearchStrategy[str]]],
) -> st.SearchStrategy[bytes]:
    """Request bodies for an endpoint whose body has one of `shapes` (each
    a mapping of field name -> strategy of a plausible value's JSON text):
    objects of a shape's fields with plausible values (so that requests get
    past the first check to the code behind it), the same with one value
    replaced by anything, objects of those and other keys with any values,
    repeated keys, any JSON at all, and arbitrary bytes."""
    shape = st.sampled_from(list(shapes)) if shapes else st.just({})
    plausible = shape.flatmap(
        lambda fields: st.one_of(
            st.fixed_dictionaries(dict(fields)),
            st.fixed_dictionaries(dict(fields)),
            st.fixed_dictionaries({}, optional=dict(fields)),
        )
    ).map(lambda chosen: list(chosen.items()))
    mutated = st.tuples(plausible, keys(), values()).map(
        lambda parts: [*parts[0][1:], (parts[1], parts[2])]
    )
    tampered = st.tuples(plausible, st.integers(0, 10), values()).map(_replace_one)
    mixed = st.lists(st.tuples(keys(), values()), max_size=4)
    texts = st.one_of(
        objects(st.one_of(plausible, plausible, tampered, mutated, mixed)),
        values(),
        st.sampled_from(["", " ", "{}", "null", "{", '{"a": 1,}']),
    )
    # surrogatepass: a surrogate written raw is invalid UTF-8, one more case
    as_bytes = texts.map(lambda text: text.encode("utf-8", "surrogatepass"))
    return as_bytes | st.binary(max_size=200)


def _replace_one(
    parts: tuple[list[tuple[str, str]], int, str],
) -> list[tuple[str, str]]:
    """The plausible pairs with the value of one (by index) replaced."""
    pairs, index, value = parts
    if not pairs:
        return [('"x"', value)]
    index %= len(pairs)
    return [*pairs[:index], (pairs[index][0], value), *pairs[index + 1 :]]


def objects(
    members: st.SearchStrategy[list[tuple[str, str]]],
) -> st.SearchStrategy[str]:
    """`{...}` of (key, value) pairs: a key is a field name (plain text,
    encoded here) or the JSON text of a key (starting with a quote)."""
    return members.map(
        lambda pairs: "{" + ",".join(f"{_key(k)}:{v}" for k, v in pairs) + "}"
    )


def _key(key: str) -> str:
    return key if key.startswith('"') else encoded(key)
