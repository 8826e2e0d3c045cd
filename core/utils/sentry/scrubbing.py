"""Removing patient data from Sentry events before they leave the process.

`scrub_event` is the SDK's `before_send` (and `before_send_transaction`);
`scrub_breadcrumb` its `before_breadcrumb`. They run after the SDK's own
`EventScrubber` (passwords, tokens, cookies by exact key) and go further:

1. Values under sensitive keys become "[Filtered]", at any depth: names,
   phone numbers, emails, dates of birth, addresses, passwords, tokens,
   secrets, sessions, cookies, Authorization headers, connection URLs, SQL
   parameters. Keys match loosely (`patientFirstName`, `mobile_no`).
2. Free text everywhere else (exception messages, log messages, local
   variables, SQL, URLs) loses emails, phone-like digit runs, credentials in
   URLs, the text of Django model reprs (`<Patient: [Filtered]>`), and every
   name found under a name key anywhere in the same event (so a message
   built from `patient.first_name` loses that name too).

A name that appears only in free text, never under a name key, cannot be
recognised; keep names out of exception messages. If scrubbing itself
fails, the SDK drops the event rather than send it unscrubbed.
"""

import re
from collections.abc import Iterable
from typing import Any, cast
from urllib.parse import parse_qsl, urlencode

from sentry_sdk.types import Breadcrumb, BreadcrumbHint, Event, Hint

FILTERED = "[Filtered]"

#: Keys (lowercased, without separators) whose string values are names.
NAME_KEYS = frozenset(
    {
        "name",
        "names",
        "patient",
        "patientname",
        "firstname",
        "lastname",
        "middlename",
        "fullname",
        "surname",
        "givenname",
        "familyname",
        "username",
        "doctorname",
        "displayname",
    }
)
#: A key containing any of these (lowercased, without separators) is sensitive.
SENSITIVE_KEY_PARTS = (
    "firstname",
    "lastname",
    "middlename",
    "fullname",
    "surname",
    "givenname",
    "familyname",
    "patientname",
    "phone",
    "mobile",
    "email",
    "dateofbirth",
    "birthdate",
    "address",
    "password",
    "passwd",
    "secret",
    "token",
    "apikey",
    "authorization",
    "cookie",
    "session",
    "csrf",
    "connectionurl",
    "credential",
    "aadhaar",
    "passport",
    "forwardedfor",
    "realip",
    "remoteaddr",
    "ipaddress",
)
#: Keys sensitive only as a whole word (as parts they match too much).
SENSITIVE_KEYS = NAME_KEYS | {"dob", "contact", "user", "dsn", "params", "dbparams"}
#: Keys whose values are the SDK's own structure: never rewritten.
STRUCTURAL_KEYS = frozenset(
    {
        "event_id",
        "trace_id",
        "span_id",
        "parent_span_id",
        "timestamp",
        "start_timestamp",
        "lineno",
        "colno",
        "abs_path",
        "filename",
        "module",
        "function",
        "platform",
        "level",
        "sdk",
        "modules",
        "_meta",
    }
)
#: Contexts the SDK fills with facts about the process, not about requests.
SDK_CONTEXTS = frozenset({"runtime", "os", "trace", "device", "app", "culture"})

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# 8 to 15 digits, optionally with +, spaces, dots, dashes or brackets between.
_PHONE = re.compile(r"(?<![\w.])\+?\(?\d(?:[\s().-]{0,2}\d){7,14}(?![\w])")
_URL_CREDENTIALS = re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^\s/@]+@", re.IGNORECASE)
_MODEL_REPR = re.compile(r"<(\w+): [^<>]*>")
_NAME_TOKEN = re.compile(r"[^\W\d_]{2,}")
#: Words never treated as names (they come from reprs, not from people).
_NOT_NAMES = frozenset({"none", "null", "true", "false", "filtered"})


def scrub_event(event: Event, hint: Hint) -> Event:
    """The event with patient data removed (see the module docstring)."""
    names = _name_pattern(_collect_names(_about_the_request(event)))
    scrubbed: dict[str, Any] = {}
    for key, value in dict(event).items():
        if key in STRUCTURAL_KEYS:
            scrubbed[key] = value
        elif key == "user" and isinstance(value, dict):
            # Who was affected, by id only: never a name or an email.
            scrubbed[key] = {"id": value["id"]} if "id" in value else {}
        elif key == "contexts" and isinstance(value, dict):
            scrubbed[key] = {
                name: context if name in SDK_CONTEXTS else _scrub(context, names)
                for name, context in value.items()
            }
        else:
            scrubbed[key] = _scrub(value, names)
    return cast(Event, scrubbed)


def _about_the_request(event: Event) -> dict[str, Any]:
    """The parts of `event` that come from the code and its data, not from
    the SDK describing itself (`sdk.name` is no patient's name)."""
    about = {k: v for k, v in dict(event).items() if k not in STRUCTURAL_KEYS}
    contexts = about.get("contexts")
    if isinstance(contexts, dict):
        about["contexts"] = {k: v for k, v in contexts.items() if k not in SDK_CONTEXTS}
    return about


def scrub_breadcrumb(crumb: Breadcrumb, hint: BreadcrumbHint) -> Breadcrumb:
    """The breadcrumb with sensitive keys and patterns removed (names are
    removed again when the event is sent, with the event's names known)."""
    return cast(Breadcrumb, _scrub(dict(crumb), None))


def is_sensitive_key(key: Any) -> bool:
    """Whether values under `key` are removed: `is_sensitive_key("Mobile_No")`."""
    if not isinstance(key, str):
        return False
    normalised = _normalise(key)
    return normalised in SENSITIVE_KEYS or any(
        part in normalised for part in SENSITIVE_KEY_PARTS
    )


def scrub_text(text: str, names: re.Pattern[str] | None = None) -> str:
    """`text` without credentials in URLs, emails, phone numbers, model repr
    contents, and (when given) the names `names` matches."""
    text = _URL_CREDENTIALS.sub(rf"\1{FILTERED}@", text)
    text = _EMAIL.sub(FILTERED, text)
    text = _PHONE.sub(FILTERED, text)
    text = _MODEL_REPR.sub(rf"<\1: {FILTERED}>", text)
    if names is not None:
        text = names.sub(FILTERED, text)
    return text


def _scrub(value: Any, names: re.Pattern[str] | None, key: Any = None) -> Any:
    if isinstance(value, dict):
        return {
            k: _scrub_entry(k, v, names) if k not in STRUCTURAL_KEYS else v
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrub(item, names) for item in value]
    if isinstance(value, str):
        return scrub_text(value, names)
    return value


def _scrub_entry(key: Any, value: Any, names: re.Pattern[str] | None) -> Any:
    if is_sensitive_key(key):
        return FILTERED
    if key == "query_string" and isinstance(value, str):
        return _scrub_query_string(value, names)
    return _scrub(value, names)


def _scrub_query_string(query: str, names: re.Pattern[str] | None) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode(
        [
            (k, FILTERED if is_sensitive_key(k) else scrub_text(v, names))
            for k, v in pairs
        ],
        safe="[]",
    )


def _collect_names(value: Any, under_name_key: bool = False) -> set[str]:
    """Every word found under a name key anywhere in `value`."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            is_name = isinstance(key, str) and _normalise(key) in NAME_KEYS
            found |= _collect_names(item, under_name_key or is_name)
    elif isinstance(value, list | tuple):
        for item in value:
            found |= _collect_names(item, under_name_key)
    elif isinstance(value, str) and under_name_key:
        found |= _name_words(value)
    return found


def _name_words(text: str) -> set[str]:
    """The words of a name value; a model repr contributes its text only."""
    model = _MODEL_REPR.fullmatch(text.strip())
    if model is not None:
        text = text.strip()[len(model.group(1)) + 3 : -1]
    return {
        word for word in _NAME_TOKEN.findall(text) if word.lower() not in _NOT_NAMES
    }


def _name_pattern(names: Iterable[str]) -> re.Pattern[str] | None:
    words = sorted(set(names), key=len, reverse=True)
    if not words:
        return None
    alternatives = "|".join(re.escape(word) for word in words)
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def _normalise(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key.lower())
