"""File keys: one rule for S3 and for local storage.

A key is a relative path of names separated by `/`, such as
`labs/12/reports/42.pdf`. The same key must mean the same file on every
backend, and on local storage it must never reach outside the storage folder,
so `..`, `.`, empty names, absolute paths, backslashes and control characters
are refused everywhere, not only where they would be dangerous.
"""

from core.utils.aws.exceptions import InvalidKey

#: S3's limit on a key, in bytes of UTF-8.
MAX_KEY_BYTES = 1024

_EXAMPLE = "Use a relative path of names separated by '/', such as 'labs/12/a.pdf'."


def validate_key(key: object) -> str:
    """Return `key` if it is a clean relative path, else raise `InvalidKey`.

    Example: `validate_key("labs/12/a.pdf") == "labs/12/a.pdf"`;
    `validate_key("../secret")` raises.
    """
    if not isinstance(key, str):
        raise InvalidKey(f"A file key must be a string, not {type(key).__name__}.")
    reason = _problem(key)
    if reason:
        shown = key if len(key) <= 80 else key[:77] + "..."
        raise InvalidKey(f"File key {shown!r} is not allowed: {reason}. {_EXAMPLE}")
    return key


def _problem(key: str) -> str:
    """Why `key` is refused, or "" when it is fine."""
    if not key:
        return "it is empty"
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        return f"it is longer than {MAX_KEY_BYTES} bytes"
    if any(ord(char) < 32 or ord(char) == 127 for char in key):
        return "it contains a control character"
    if "\\" in key:
        return "it contains a backslash"
    if key.startswith("/"):
        return "it starts with '/'"
    for name in key.split("/"):
        if name in ("", ".", ".."):
            return "it has an empty, '.' or '..' part"
    return ""
