"""The lab a request acts for: `request.lab_id`, `request.lab_kind` and
(lazily) `request.child_lab_ids`.

A request belongs to a lab in one of three ways:

- lab staff signed in: the session's `labId`;
- a doctor signed in: the session's `docLabId`;
- an API key (`core.middleware.api_key`): the key's lab.

A session never holds both keys (`start_lab_session` sets one and removes the
other). `LabContextMiddleware` reads the session's lab only while a user is
signed in: a session left behind by a deactivated account carries no lab.

`request.child_lab_ids` are the descendants of the lab
(`lab_ids_in_scope(lab_id)` without the lab itself), computed on first use
only, so a view that never asks costs no query.
"""

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject

from core.models.lab_scoped import lab_ids_in_scope

if TYPE_CHECKING:
    from core.models.api_key import ApiKey

#: Session key of a lab staff member's lab (name kept from the original app).
LAB_SESSION_KEY = "labId"
#: Session key of a doctor's lab.
DOCTOR_LAB_SESSION_KEY = "docLabId"


class LabKind(StrEnum):
    """How a request came to belong to its lab."""

    STAFF = "staff"
    DOCTOR = "doctor"
    API_KEY = "api_key"


#: Which session key holds the lab of each kind of session.
_SESSION_KEYS = {
    LabKind.STAFF: LAB_SESSION_KEY,
    LabKind.DOCTOR: DOCTOR_LAB_SESSION_KEY,
}


@dataclass(frozen=True)
class SessionLab:
    """The lab a session is signed in to. Example: `SessionLab(3, LabKind.DOCTOR)`."""

    lab_id: int
    kind: LabKind


def parse_lab_id(value: Any) -> int | None:
    """A positive lab id from an int or a string of digits, else None.

    Example: `parse_lab_id("12") == 12`; `parse_lab_id("x")`, `parse_lab_id(0)`,
    `parse_lab_id(True)` and `parse_lab_id(None)` are None.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int) and value > 0:
        return value
    return None


def session_lab(session: SessionBase) -> SessionLab | None:
    """The session's lab and kind: `labId` (staff) first, then `docLabId`."""
    for kind, key in _SESSION_KEYS.items():
        lab_id = parse_lab_id(session.get(key))
        if lab_id is not None:
            return SessionLab(lab_id, kind)
    return None


def lab_id_from_session(session: SessionBase) -> int | None:
    """`labId` or else `docLabId` as a lab id; None when neither is usable.

    This reads the session only; views should use `request.lab_id`, which
    also requires the user to be signed in.
    """
    found = session_lab(session)
    return found.lab_id if found else None


def start_lab_session(session: SessionBase, lab_id: int, kind: LabKind) -> None:
    """Record the lab a user just signed in to, under the key of their kind,
    removing the other kind's key."""
    if kind not in _SESSION_KEYS:
        raise ValueError(f"A session is for lab staff or a doctor, not {kind!r}.")
    for key in _SESSION_KEYS.values():
        session.pop(key, None)
    session[_SESSION_KEYS[kind]] = lab_id


class LabRequest(HttpRequest):
    """An HttpRequest as the core middleware leave it, for type hints only:
    `def view(request: LabRequest) -> ...` lets a type checker see the
    attributes set by ApiKeyMiddleware and LabContextMiddleware."""

    api_key: "ApiKey | None"
    lab_id: int | None
    lab_kind: LabKind | None
    #: Descendant lab ids, computed on first use (a lazy list).
    child_lab_ids: list[int]


class LabContextMiddleware:
    """Sets `request.lab_id`, `request.lab_kind` and `request.child_lab_ids`
    (lazily; always empty for a doctor, who sees their own lab only).

    Runs after AuthenticationMiddleware and ApiKeyMiddleware. Without a lab,
    `lab_id` and `lab_kind` are None and `child_lab_ids` is empty.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        lab_id, kind = request_lab(request)
        request.lab_id = lab_id  # type: ignore[attr-defined]
        request.lab_kind = kind  # type: ignore[attr-defined]
        # A doctor sees their own lab only; staff and API keys see their
        # lab's children too.
        parent = lab_id if kind is not LabKind.DOCTOR else None
        request.child_lab_ids = SimpleLazyObject(  # type: ignore[attr-defined]
            lambda: lab_ids_in_scope(parent)[1:] if parent is not None else []
        )
        return self.get_response(request)


def request_lab(request: HttpRequest) -> tuple[int | None, LabKind | None]:
    """(lab id, kind) of the request: its API key's lab, else the session's
    lab while a user is signed in, else (None, None)."""
    api_key = getattr(request, "api_key", None)
    if api_key is not None:
        return api_key.lab_id, LabKind.API_KEY
    if not request.user.is_authenticated:
        return None, None
    found = session_lab(request.session)
    return (found.lab_id, found.kind) if found else (None, None)
