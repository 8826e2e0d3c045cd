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

# NUL, lone surrogates (the only way they reach a str is a \uD8xx escape
# without its pair) and Unicode's 66 noncharacters: 34 in the BMP, and
# U+1FFFE, U+1FFFF ... U+10FFFF (checked apart: a character class holding
# them makes every search several times slower).
_FORBIDDEN_BMP = re.compile("[\x00\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
# The escapes that give one of those: \u0000, a high surrogate without its
# low one or a low one without its high one, and the BMP noncharacters and
# the astral ones as pairs (their high surrogate ends in 3F, 7F, BF or FF,
# their low one is DFFE or DFFF).
_FORBIDDEN_ESCAPE = re.compile(
    r"\\u(?:"  # every branch starts here, so the search skips along in C
    r"0000"
    r"|[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2}\\u)[dD][c-fC-F][0-9a-fA-F]{2}"
    r"|[fF][dD][dDeE][0-9a-fA-F]|[fF]{3}[eEfF]"
    r"|[dD][89abAB][37bfBF][fF]\\u[dD][fF][fF][eEfF]"
    r")"
)
# A JSON string; anything but a bracket; an empty pair of brackets.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_INNERMOST = re.compile(r"\[\]|\{\}")


class MalformedJson(ValueError):
    """A request body (or query parameter) that is not acceptable JSON input.

    `message` says what is wrong and what would be right; `where` is the
    place in the body ("" for the body as a whole), e.g. "first_name" or
    "batch[2].context.name". `str()` gives both.
    """

    def __init__(self, message: str, where: str = "") -> None:
        # A place 32 levels deep under 40-character keys would be a page long.
        if len(where) > MAX_WHERE_CHARS:
            where = where[:MAX_WHERE_CHARS] + "..."
        self.message, self.where = message, where
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
    hooks = _Hooks()
    data = hooks.decode(text)
    if not isinstance(data, dict):
        raise MalformedJson(
            f"The request body must be a JSON object ({{...}}), not {_kind(data)}."
        )
    # The walk finds and names any problem, but costs ~10x the decoding;
    # it runs only when a hook refused something, or the text may hold a
    # forbidden character or nest too deep (quick checks in C).
    if hooks.suspect or _may_hold_forbidden_text(text) or _deeper_than_limit(text):
        _walk(data)
    return data


def text_problem(text: str) -> str | None:
    """Why `text` may not be stored, or None: a NUL, a lone surrogate or a
    noncharacter. For strings that come from elsewhere than a JSON body
    (query parameters).

    Example: `text_problem("a\\x00b")` -> "Text may not contain the NUL
    character (U+0000); remove it."
    """
    code = _forbidden_code(text)
    if code is None:
        return None
    if code == 0:
        return "Text may not contain the NUL character (U+0000); remove it."
    if 0xD800 <= code <= 0xDFFF:
        return (
            f"Text has a lone surrogate (U+{code:04X}), which is half of a "
            "character; send the whole character, as UTF-8 or as its pair of "
            "\\u escapes."
        )
    return f"Text may not contain U+{code:04X}, a Unicode noncharacter; remove it."


def _forbidden_code(text: str) -> int | None:
    """The code point of a forbidden character in `text`, or None."""
    if text.isascii():
        return 0 if "\x00" in text else None
    found = _FORBIDDEN_BMP.search(text)
    if found is not None:
        return ord(found.group())
    for astral in _ASTRAL.findall(text):
        if ord(astral) & 0xFFFE == 0xFFFE:
            return ord(astral)
    return None


class _Hooks:
    """json.loads with hooks that leave a `_Refused` marker where a number
    is refused and flag an object with a repeated key; `suspect` is set
    when either happened."""

    def __init__(self) -> None:
        self.suspect = False

    def decode(self, text: str) -> Any:
        """`text` decoded; MalformedJson for anything the decoder raises."""
        try:
            return json.loads(
                text,
                parse_int=self.integer,
                parse_float=self.number,
                parse_constant=self.constant,
                object_pairs_hook=self.members,
            )
        except json.JSONDecodeError as exc:
            raise MalformedJson(
                f"The request body is not valid JSON ({exc.msg} at line "
                f"{exc.lineno}, column {exc.colno}). Send a JSON object such as "
                '{"name": "value"}.'
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

    def integer(self, literal: str) -> int | _Refused:
        digits = literal.lstrip("-")
        if len(digits) <= MAX_INTEGER_DIGITS:
            value = int(literal)
            if abs(value) <= MAX_SAFE_INTEGER:
                return value
        return self._refused(
            f"the integer {_shown(literal)} ({len(digits):,} digits) is out of "
            f"range; integers are between -{MAX_SAFE_INTEGER} and "
            f"{MAX_SAFE_INTEGER}."
        )

    def number(self, literal: str) -> float | _Refused:
        value = float(literal)  # the JSON grammar has already checked the form
        if math.isfinite(value):
            return value
        return self._refused(
            f"the number {_shown(literal)} is too large (beyond about 1.8e308); "
            "send a finite number."
        )

    def constant(self, name: str) -> _Refused:
        return self._refused(
            f"{name} is not a number JSON allows; send a finite number, or null."
        )

    def members(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result = dict(pairs)
        if len(result) == len(pairs):
            return result
        self.suspect = True
        flagged = _DuplicateKeys(result)
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                flagged.duplicate = key
                break
            seen.add(key)
        return flagged

    def _refused(self, message: str) -> _Refused:
        self.suspect = True
        return _Refused(message)


def _may_hold_forbidden_text(text: str) -> bool:
    """Whether a string or key of `text` may hold a forbidden character:
    one written as such (a noncharacter; NUL cannot be, unescaped), or an
    escape that gives one. A false alarm (an escaped backslash before
    "u0000") only costs the walk."""
    if "\\u" in text and _FORBIDDEN_ESCAPE.search(text):
        return True
    return _forbidden_code(text) is not None


def _deeper_than_limit(text: str) -> bool:
    """Whether `text` (valid JSON) nests objects and lists more than
    MAX_DEPTH deep. Outside strings only the brackets count; each pass
    removes the innermost pairs, so what is left after MAX_DEPTH passes is
    deeper."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return False
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    for _ in range(MAX_DEPTH):
        brackets = _INNERMOST.sub("", brackets)  # one level: not re-scanned
        if not brackets:
            return False
    return True


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
    shown = "".join(
        f"\\u{ord(char):04x}" if _forbidden_code(char) is not None else char
        for char in _shown(key)
    )
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
