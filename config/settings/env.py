"""Typed readers for settings taken from environment variables.

Every setting the project reads from the environment goes through one of
these, so a malformed value fails at start-up with the variable's name instead
of surfacing later as a confusing error.
"""

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str) -> str:
    """The variable's value, or `default` when it is unset."""
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    """`1/true/yes/on` or `0/false/no/off` (any case); `default` when unset."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={raw!r} is not a boolean; use one of 1/0, true/false, yes/no, on/off."
    )


def env_list(name: str, default: list[str]) -> list[str]:
    """A comma-separated list, blanks dropped; `default` when unset."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    """An integer; `default` when unset."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer.") from None


def env_optional_int(name: str) -> int | None:
    """A positive integer, or None when unset or empty (meaning "no limit")."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    value = env_int(name, 0)
    if value <= 0:
        raise ImproperlyConfigured(
            f"{name}={raw!r} must be a positive number, or unset for no limit."
        )
    return value
