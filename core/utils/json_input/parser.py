"""The one parser of JSON request bodies: strict I-JSON, bounded.

`parse_json_object(body)` turns a request body (bytes) into a dict, or
raises `MalformedJson` saying what is wrong and where (`first_name`,
`batch[2].context`), and nothing else: every ValueError, RecursionError
and decoding error of the standard library's parser is turned into it.

What a body may hold is I-JSON (RFC 7493), the profile of JSON that every
parser reads the same way, plus two limits of our own:

- UTF-8 text (no other encoding, no byte order mark), one JSON object.
- Numbers: finite (no NaN / Infinity, no literal that overflows a double,
  such as 1e400); integers within +-(2**53 - 1), the range JavaScript
  clients hold exactly (I-JSON section 2.2). Longer integers are refused
  before they are converted, so a 100,000-digit literal costs nothing.
- Strings and keys: no NUL (U+0000: PostgreSQL cannot store it, and C
  libraries read it as the end), no lone surrogate such as "\\ud800" (not
  a character: it cannot be encoded as UTF-8 or stored), no Unicode
  noncharacter (I-JSON section 2.1).
- Each key once per object (I-JSON section 2.3): with duplicates, parsers
  disagree on which value wins.
- Objects and lists nested at most MAX_DEPTH deep (the top-level object is
  level 1): deeper bodies are no real client's and exhaust the stack.

The body's size is bounded before it is read, by Django's
DATA_UPLOAD_MAX_MEMORY_SIZE (and tighter per endpoint where it matters).
"""

import json
import math
import re
from typing import Any

#: The deepest nesting of objects and lists a body may have; the top-level
#: object is level 1, so `{"batch": [{"context": {...}}]}` reaches 4.
MAX_DEPTH = 32
#: The largest integer magnitude (I-JSON: 2**53 - 1, JavaScript's
#: Number.MAX_SAFE_INTEGER); ids and counts here are far below it.
MAX_SAFE_INTEGER = 2**53 - 1
#: Digits of MAX_SAFE_INTEGER: a longer literal is refused unconverted.
MAX_INTEGER_DIGITS = len(str(MAX_SAFE_INTEGER))
#: Longest key or literal quoted back in an error message, in characters.
SHOWN_CHARS = 40
#: Longest place in the body (`where`) named in an error, in characters.
MAX_WHERE_CHARS = 120

# NUL, lone surrogates (the only way they reach a str is a \\uD8xx escape
# without its pair) and Unicode's 66 noncharacters.
_NONCHARACTERS = "".join(
    f"{chr(plane + 0xFFFE)}{chr(plane + 0xFFFF)}"
    for plane in range(0, 0x110000, 0x10000)
)
_FORBIDDEN = re.compile(f"[\x00\ud800-\udfff\ufdd0-\ufdef{_NONCHARACTERS}]")


class MalformedJson(ValueError):
    """A request body (or query parameter) that is not acceptable JSON input.

    `message` says what is wrong and what would be right; `where` is the
    place in the body ("" for the body as a whole), e.g. "first_name" or
    "batch[2].context.name". `str()` gives both.
    """

    def __init__(self, message: str, where: str = "") -> None:
        self.message = message
        # A place 32 levels deep under 40-character keys would be a page long.
        self.where = (
            where if len(where) <= MAX_WHERE_CHARS else where[:MAX_WHERE_CHARS] + "..."
        )
        where = self.where
        super().__init__(f"{where}: {message}" if where else message)


class _Refused:
    """A number the parser hooks refused; reported by the walk, which knows
    where it is (the hooks do not)."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message


class _DuplicateKeys(dict[str, Any]):
    """An object that had a key more than once (the first such key kept)."""

    duplicate: str = ""


def parse_json_object(body: bytes) -> dict[str, Any]:
    """The JSON object in `body`, checked as the module docstring says; an
    empty (or all-whitespace) body is `{}`. Raises MalformedJson only.

    Example: `parse_json_object(b'{"name": "CBC"}')` -> `{"name": "CBC"}`;
    `parse_json_object(b'{"n": NaN}')` raises MalformedJson("n: NaN is not
    a number JSON allows; ...").
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedJson(
            f"The request body is not UTF-8 text (byte {exc.start} cannot be "
            "read); send JSON encoded as UTF-8."
        ) from None
    if not text.strip():
        return {}
    data = _decode(text)
    if not isinstance(data, dict):
        raise MalformedJson(
            f"The request body must be a JSON object ({{...}}), not {_kind(data)}."
        )
    _walk(data)
    return data


def text_problem(text: str) -> str | None:
    """Why `text` may not be stored, or None: a NUL, a lone surrogate or a
    noncharacter. For strings that come from elsewhere than a JSON body
    (query parameters).

    Example: `text_problem("a\\x00b")` -> "Text may not contain the NUL
    character (U+0000); remove it."
    """
    found = _FORBIDDEN.search(text)
    if found is None:
        return None
    code = ord(found.group())
    if code == 0:
        return "Text may not contain the NUL character (U+0000); remove it."
    if 0xD800 <= code <= 0xDFFF:
        return (
            f"Text has a lone surrogate (U+{code:04X}), which is half of a "
            "character; send the whole character, as UTF-8 or as its pair of "
            "\\u escapes."
        )
    return f"Text may not contain U+{code:04X}, a Unicode noncharacter; remove it."


def _decode(text: str) -> Any:
    try:
        return json.loads(
            text,
            parse_int=_integer,
            parse_float=_float,
            parse_constant=_constant,
            object_pairs_hook=_object,
        )
    except json.JSONDecodeError as exc:
        raise MalformedJson(
            f"The request body is not valid JSON ({exc.msg} at line {exc.lineno}, "
            f'column {exc.colno}). Send a JSON object such as {{"name": "value"}}.'
        ) from None
    except RecursionError:
        # The C scanner gives up near the interpreter's recursion limit
        # (about 1,000 levels), long after MAX_DEPTH; the walk checks that.
        raise MalformedJson(_too_deep_message()) from None
    except ValueError:  # no other is known; a body is never a 500
        raise MalformedJson(
            "The request body is not valid JSON. Send a JSON object such as "
            '{"name": "value"}.'
        ) from None


def _integer(literal: str) -> int | _Refused:
    digits = literal.lstrip("-")
    if len(digits) <= MAX_INTEGER_DIGITS:
        value = int(literal)
        if abs(value) <= MAX_SAFE_INTEGER:
            return value
    return _Refused(
        f"the integer {_shown(literal)} ({len(digits):,} digits) is out of range; "
        f"integers are between -{MAX_SAFE_INTEGER} and {MAX_SAFE_INTEGER}."
    )


def _float(literal: str) -> float | _Refused:
    value = float(literal)  # the JSON grammar has already checked the form
    if math.isfinite(value):
        return value
    return _Refused(
        f"the number {_shown(literal)} is too large (beyond about 1.8e308); send "
        "a finite number."
    )


def _constant(name: str) -> _Refused:
    return _Refused(
        f"{name} is not a number JSON allows; send a finite number, or null."
    )


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) == len(pairs):
        return result
    flagged = _DuplicateKeys(result)
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            flagged.duplicate = key
            break
        seen.add(key)
    return flagged


def _walk(data: dict[str, Any]) -> None:
    """Check every value, key and level of `data` without recursing (a
    body's nesting must not set the depth of our stack); the first problem,
    in document order, is raised."""
    stack: list[tuple[Any, str, int]] = [(data, "", 1)]
    while stack:
        value, where, depth = stack.pop()
        if isinstance(value, str):
            _check_text(value, where)
        elif isinstance(value, _Refused):
            raise MalformedJson(_capitalised(value.message), where)
        elif isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise MalformedJson(_too_deep_message(), where)
            stack.extend(reversed(list(_children(value, where, depth + 1))))


def _children(value: dict[str, Any] | list[Any], where: str, depth: int) -> Any:
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield item, f"{where}[{index}]", depth
        return
    if isinstance(value, _DuplicateKeys):
        raise MalformedJson(
            f"The key {_shown(value.duplicate)!r} appears more than once in this "
            "object; send each key once.",
            key_path(where, value.duplicate),
        )
    for key, item in value.items():
        path = key_path(where, key)
        problem = text_problem(key)
        if problem is not None:
            raise MalformedJson(f"In a key: {problem}", path)
        yield item, path, depth


def _check_text(value: str, where: str) -> None:
    problem = text_problem(value)
    if problem is not None:
        raise MalformedJson(problem, where)


def key_path(where: str, key: str) -> str:
    """The place of `key` in the object at `where`, as errors name it:
    "first_name", "batch[2].context". A long key is shortened, and a
    character that may not be stored is shown as its escape ("a\\u0000")."""
    shown = _FORBIDDEN.sub(lambda m: f"\\u{ord(m.group()):04x}", _shown(key))
    shown = shown or '""'  # the empty key, named so that it shows
    return f"{where}.{shown}" if where else shown


def _shown(text: str) -> str:
    if len(text) <= SHOWN_CHARS:
        return text
    return text[: SHOWN_CHARS - 3] + "..."


def _capitalised(message: str) -> str:
    return message[:1].upper() + message[1:]


def _too_deep_message() -> str:
    return (
        f"Objects and lists are nested more than {MAX_DEPTH} levels deep; send "
        "flatter JSON."
    )


def _kind(value: Any) -> str:
    names = {list: "a list", str: "a string", bool: "true/false", type(None): "null"}
    return names.get(type(value), "a number")
