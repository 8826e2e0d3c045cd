"""Masking of MongoDB connection URLs, which carry credentials.

A URL such as `mongodb://app:s3cret@docdb.example.com:27017/logs?tls=true`
is shown as `mongodb://***@docdb.example.com:27017/logs?***` everywhere a
person or a log could read it.
"""

from urllib.parse import urlsplit

#: What replaces the user:password part and the query string.
MASK = "***"

#: The schemes pymongo accepts.
MONGODB_SCHEMES = ("mongodb", "mongodb+srv")


def mask_connection_url(url: str) -> str:
    """The URL without credentials or options, safe for logs and messages.

    Example: `mask_connection_url("mongodb://u:p@h:27017/db?tls=true")` ->
    `"mongodb://***@h:27017/db?***"`. Anything unparseable becomes `"***"`:
    a malformed URL may still hold a password.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    if not parts.scheme or not parts.netloc:
        return MASK
    # The query may hold secrets too (authMechanismProperties=AWS_SESSION_TOKEN:..).
    host = parts.netloc.rpartition("@")[2]
    userinfo = f"{MASK}@" if "@" in parts.netloc else ""
    query = f"?{MASK}" if parts.query else ""
    return f"{parts.scheme}://{userinfo}{host}{parts.path}{query}"


def has_mongodb_scheme(url: str) -> bool:
    """Whether `url` starts with `mongodb://` or `mongodb+srv://`."""
    return any(url.startswith(f"{scheme}://") for scheme in MONGODB_SCHEMES)
