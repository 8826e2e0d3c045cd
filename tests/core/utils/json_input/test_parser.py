"""core.utils.json_input.parser: what a JSON body may hold, and that every
refusal is a MalformedJson naming the place, never another exception."""

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.utils.json_input import (
    MAX_DEPTH,
    MAX_SAFE_INTEGER,
    MalformedJson,
    parse_json_object,
    parser,
    text_problem,
)
from tests.fuzz.json_text import deep, values

pytestmark = pytest.mark.engine_independent


def refusal(body: bytes) -> MalformedJson:
    with pytest.raises(MalformedJson) as excinfo:
        parse_json_object(body)
    return excinfo.value


def nested(depth: int, inner: str = "1") -> bytes:
    """`{"a": [[...inner...]]}` with `depth` levels of objects and lists."""
    return ('{"a": ' + "[" * (depth - 1) + inner + "]" * (depth - 1) + "}").encode()


def test_a_plain_object_is_read_as_is():
    body = '{"name": "Asha Rāo", "n": -12, "x": 1.5e3, "ok": true, "z": null, "l": []}'

    assert parse_json_object(body.encode()) == {
        "name": "Asha Rāo", "n": -12, "x": 1500.0, "ok": True, "z": None, "l": [],
    }  # fmt: skip


@pytest.mark.parametrize("body", [b"", b"  \n\t"])
def test_an_empty_body_is_an_empty_object(body):
    assert parse_json_object(body) == {}


@pytest.mark.parametrize(
    ("literal", "said"),
    [
        ("NaN", "NaN is not a number JSON allows"),
        ("Infinity", "Infinity is not a number JSON allows"),
        ("-Infinity", "-Infinity is not a number JSON allows"),
        ("1e400", "The number 1e400 is too large"),
        ("-1.5e309", "The number -1.5e309 is too large"),
    ],
)
def test_non_finite_numbers_are_refused_where_they_are(literal, said):
    error = refusal(f'{{"a": {{"b": [0, {literal}]}}}}'.encode())

    assert error.where == "a.b[1]"
    assert error.message.startswith(said)


@pytest.mark.parametrize(
    "literal", [str(MAX_SAFE_INTEGER + 1), str(-MAX_SAFE_INTEGER - 1), "9" * 4301]
)
def test_integers_beyond_the_safe_range_are_refused(literal):
    error = refusal(f'{{"id": {literal}}}'.encode())

    assert error.where == "id"
    assert "is out of range; integers are between -9007199254740991 and " in str(error)


def test_an_integer_of_a_million_digits_is_refused_without_converting_it():
    # int() of it would raise ValueError (over sys.get_int_max_str_digits).
    body = f'{{"n": {"7" * 1_000_000}}}'.encode()
    with pytest.raises(ValueError, match="Exceeds the limit"):
        json.loads(body)  # the standard library's ValueError, not a JSONDecodeError

    error = refusal(body)

    assert "(1,000,000 digits)" in error.message
    assert len(error.message) < 200


def test_the_safe_integer_range_is_read_exactly():
    body = f'{{"a": {MAX_SAFE_INTEGER}, "b": {-MAX_SAFE_INTEGER}}}'.encode()

    assert parse_json_object(body) == {"a": MAX_SAFE_INTEGER, "b": -MAX_SAFE_INTEGER}


def test_nesting_up_to_the_limit_is_read():
    assert parse_json_object(nested(MAX_DEPTH))["a"] is not None


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 500])
def test_nesting_past_the_limit_is_refused_with_its_place(depth):
    error = refusal(nested(depth))

    assert error.message == (
        f"Objects and lists are nested more than {MAX_DEPTH} levels deep; send "
        "flatter JSON."
    )
    assert error.where.startswith("a[0][0]")


def test_nesting_that_exhausts_the_stack_is_refused():
    # The standard library raises RecursionError here.
    with pytest.raises(RecursionError):
        json.loads(nested(200_000))

    error = refusal(nested(200_000))

    assert "nested more than" in error.message


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('"a\\u0000b"', "Text may not contain the NUL character (U+0000)"),
        ('"\\ud800"', "Text has a lone surrogate (U+D800)"),
        ('"x\\udfff"', "Text has a lone surrogate (U+DFFF)"),
        ('"\\ude00\\ud83d"', "Text has a lone surrogate (U+DE00)"),  # pair reversed
        ('"\\ufffe"', "Text may not contain U+FFFE, a Unicode noncharacter"),
        ('"\\udbff\\udfff"', "Text may not contain U+10FFFF, a Unicode"),
    ],
)
def test_text_that_cannot_be_stored_is_refused_in_values_and_keys(text, said):
    in_value = refusal(f'{{"ok": "x", "name": [{text}]}}'.encode())
    in_key = refusal(f'{{"outer": {{{text}: 1}}}}'.encode())

    assert (in_value.where, in_value.message.startswith(said)) == ("name[0]", True)
    assert in_key.message.startswith(f"In a key: {said}")
    assert in_key.where.startswith("outer.")
    assert text_problem(in_key.where) is None  # the place is shown escaped


def test_a_surrogate_pair_is_one_character_and_is_read():
    assert parse_json_object(b'{"e": "\\ud83d\\ude00"}') == {"e": "\U0001f600"}


def test_a_key_given_twice_is_refused():
    error = refusal(b'{"a": {"k": 1, "j": 2, "k": 3}}')

    assert error.where == "a.k"
    assert error.message == (
        "The key 'k' appears more than once in this object; send each key once."
    )


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (
            b'{"a": "\xff"}',
            "The request body is not UTF-8 text (byte 7 cannot be read)",
        ),
        ('{"a": "é"}'.encode("utf-16"), "The request body is not UTF-8 text"),
        (b"\xef\xbb\xbf{}", "Unexpected UTF-8 BOM"),
        (b'{"a": 1,}', "Illegal trailing comma before end of object at line 1"),
        (b'{"a": "\x00"}', "Invalid control character"),  # a raw NUL, unescaped
        (b"[1]", "The request body must be a JSON object ({...}), not a list."),
        (b"NaN", "not a number"),
        (b'"x"', "not a string"),
    ],
)
def test_a_body_that_is_not_a_json_object_in_utf8_is_refused(body, said):
    error = refusal(body)

    assert error.where == ""
    assert said in error.message


def test_the_empty_key_is_named_where_it_is():
    error = refusal(b'{"": {"": [NaN]}}')

    assert error.where == '"".""[0]'


def test_a_long_key_is_shortened_where_it_is_named():
    key = "k" * 10_000

    error = refusal(f'{{"{key}": NaN}}'.encode())

    assert error.where == "k" * 37 + "..."


def test_the_place_of_a_deep_problem_is_cut_to_a_readable_length():
    body = '{"' + '": {"'.join(["k" * 40] * 20) + '": NaN' + "}" * 20

    error = refusal(body.encode())

    assert len(error.where) == 123
    assert error.where.endswith("...")


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_give_an_object_or_a_malformed_json(body):
    with contextlib.suppress(MalformedJson):
        assert isinstance(parse_json_object(body), dict)


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.floats() | st.integers() | st.text(),
        lambda children: st.lists(children) | st.dictionaries(st.text(), children),
        max_leaves=30,
    )
)
def test_arbitrary_json_gives_an_object_or_a_malformed_json(value):
    body = json.dumps({"v": value}).encode()
    try:
        assert parse_json_object(body) == json.loads(body)
    except MalformedJson as error:
        assert error.where.startswith("v")


def parsed_by_always_walking(body: bytes) -> dict[str, Any]:
    """The reference: the same decoding, then the walk, always (the parser
    skips the walk when its quick checks on the text find nothing)."""
    hooks = parser._Hooks()
    data = hooks.decode(body.decode())
    if not isinstance(data, dict):
        raise MalformedJson("not an object")
    parser._walk(data)
    return data


@settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(st.one_of(values(), deep()))
def test_the_quick_checks_never_skip_a_problem_the_walk_would_find(text):
    body = f'{{"v": {text}}}'.encode("utf-8", "surrogatepass")
    outcomes = []
    for parse in (parse_json_object, parsed_by_always_walking):
        try:
            outcomes.append(parse(body))
        except (MalformedJson, UnicodeDecodeError) as error:
            outcomes.append(type(error))
            outcomes.append(getattr(error, "where", None))

    assert outcomes[: len(outcomes) // 2] == outcomes[len(outcomes) // 2 :]


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": "\\\\u0000"}',  # an escaped backslash, then the text u0000
        b'{"a": "\\ud83d\\ude00"}',  # a valid pair
        b'{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}',  # brackets in text
        b'{"a": 1234567890, "b": "NaN", "c": "1e400", "d": "\\u00e9"}',
    ],
)
def test_what_only_looks_forbidden_is_read(body):
    assert parse_json_object(body) == json.loads(body)
