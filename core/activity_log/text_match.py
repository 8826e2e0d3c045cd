# ruff: noqa: RUF002  (the docstring names letters of several scripts on purpose)
"""Case-insensitive substring matching that every store does the same way.

`get_activities(text=...)` finds a case-insensitive substring of an entry's
message or reason, in the database (SQLite or PostgreSQL) and in
Elasticsearch. Their own case-insensitive matching differs beyond ASCII:
SQLite's LIKE folds ASCII letters only; PostgreSQL's ILIKE / UPPER() follow
the database's locale; Elasticsearch's `case_insensitive` wildcard and term
queries fold ASCII letters only (Lucene's AutomatonQueries). So a search for
"анализ" would find "Анализ" in the database on PostgreSQL, and lose it
once the entry shipped.

Instead the reader builds one regular expression in which each cased
letter is a class of the letters of its case-fold family ("ä" -> [äÄ], "σ"
-> [Σςσ]), and each store runs it with its own regex engine, which is
case-sensitive everywhere: Django's `__regex` (Python's `re` on SQLite,
POSIX `~` on PostgreSQL) and Elasticsearch's `regexp` query on the
`wildcard` sub-field. The same classes, so the same results.

The family of a letter is every code point in the Basic Multilingual Plane
whose one-letter lowercase and uppercase mappings lead to the same letter
(`str.lower`/`str.upper`, Unicode's simple mappings): i/I/ı are one family,
as are σ/ς/Σ, ß/ẞ, and к/К. Mappings to several letters do not count: "ß"
does not match "SS", nor "ﬁ" "fi", and "İ" (dotted capital I, which lowercases
to two code points) matches only itself. Everything else matches exactly.
"""

import functools
from collections import defaultdict

#: Longest search text, in characters: Elasticsearch refuses a regexp
#: longer than `index.max_regex_length` (1000 by default), and a letter's
#: class takes up to 8 characters.
MAX_TEXT_CHARS = 100
#: Characters a regex engine could read as an operator (escaped with `\`).
_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def case_pattern(text: str) -> str:
    """`text` as a case-insensitive regex for a substring search.

    Example: `case_pattern("Ärzt 5%")` is `"[Ää][Rr][Zz][Tt] 5\\%"`. Runs the
    same in Python's `re`, PostgreSQL's `~` and Lucene's RegExp (anchored
    there: wrap it in `.*` ... `.*`).
    """
    if len(text) > MAX_TEXT_CHARS:
        raise ValueError(
            f"text is at most {MAX_TEXT_CHARS} characters; got {len(text)}."
        )
    return "".join(_piece(char) for char in text)


def _piece(char: str) -> str:
    family = _families().get(_key(char))
    if family and len(family) > 1:
        return "[" + "".join(sorted(family)) + "]"
    if char in _PLAIN or char == " " or ord(char) > 127:
        return char
    return "\\" + char


def _key(char: str) -> str:
    """The letter a character's case family is named by."""
    upper = char.upper()
    if len(upper) == 1:
        lower = upper.lower()
        if len(lower) == 1:
            return lower
    lower = char.lower()
    return lower if len(lower) == 1 else char


@functools.cache
def _families() -> dict[str, frozenset[str]]:
    """Case families of the Basic Multilingual Plane (built once, ~20 ms)."""
    families: dict[str, set[str]] = defaultdict(set)
    for code in range(0x10000):
        if 0xD800 <= code <= 0xDFFF:
            continue  # surrogates are not characters
        char = chr(code)
        if char.lower() != char or char.upper() != char:
            families[_key(char)].add(char)
    return {key: frozenset(members) for key, members in families.items()}
