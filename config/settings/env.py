"""Typed readers for settings taken from environment variables.

Every setting the project reads from the environment goes through one of
these, so a malformed value fails at start-up with the variable's name instead
of surfacing later as a confusing error.
"""

import os
import re

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


def env_proxy_ssl_header(name: str) -> tuple[str, str] | None:
    """`HTTP_X_FORWARDED_PROTO,https`: the request.META name of the header a
    proxy sets and the value it has when the client used HTTPS, as Django's
    SECURE_PROXY_SSL_HEADER wants it; None when unset or empty."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    parts = [part.strip() for part in raw.split(",")]
    # A header name as sent ("X-Forwarded-Proto") never matches: Django looks
    # it up in request.META, where it is HTTP_X_FORWARDED_PROTO.
    if (
        len(parts) != 2
        or not re.fullmatch(r"HTTP_[A-Z0-9_]+", parts[0])
        or not parts[1]
    ):
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not a header and its HTTPS value; write the "
            "header's request.META name, a comma and the value, e.g. "
            "HTTP_X_FORWARDED_PROTO,https."
        )
    return parts[0], parts[1]
