"""Who may act for which lab: the rules, applied at sign-in and again on
every request.

- Staff act for their home lab or any lab below it; doctors for their home
  lab only; the lab must exist and be active, and so must the home lab.
- At sign-in (`choose_sign_in_lab`, then `begin_lab_session`) the session
  records the lab, the kind and the session epochs of the user, the home
  lab and the lab (core.tenancy.session).
- On every request (`authorise_session`, from LabContextMiddleware) the
  same rules run again on the current user and labs, from one Redis call
  (core.tenancy.facts). If an epoch moved (the user or a lab was
  deactivated, the user moved to another lab or kind) the session must
  end: it does not come back when they are reactivated. If the rules fail
  otherwise (a parent -> child link removed, a lab deactivated behind the
  model's back) the request has no lab.
- API keys (`scope_for_api_key`) act for their lab and the labs below it;
  the key itself (revoked, lab inactive) is checked by ApiKey.authenticate.
"""

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user
from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest

from core.tenancy.facts import LabFacts, lab_facts
from core.tenancy.scope import LabKind, LabScope
from core.tenancy.session import (
    parse_lab_id,
    read_session_lab,
    start_lab_session,
)


class LabAccessDenied(PermissionDenied):
    """The user may not act for the lab; the message says why, for people."""


@dataclass(frozen=True)
class SessionDecision:
    """The outcome of re-authorising a session: its scope (None: the request
    has no lab), and why the session must end (None: it goes on)."""

    scope: LabScope | None
    end_reason: str | None = None


def user_kind(user: Any) -> LabKind:
    """The kind of session `user` signs in to: DOCTOR or STAFF."""
    return LabKind.DOCTOR if getattr(user, "kind", "") == "doctor" else LabKind.STAFF


def choose_sign_in_lab(user: Any, requested: Any) -> tuple[int, LabKind]:
    """The lab `user` signs in to (`requested`, or the home lab when it is
    None or "") and the session kind; LabAccessDenied or ValidationError
    saying why not.

    Example: staff of lab 1 asking for child lab 4 -> `(4, LabKind.STAFF)`.
    """
    home = user.lab_id
    if home is None:
        raise LabAccessDenied(
            "Your account is not attached to a lab; ask an administrator to set "
            "your lab."
        )
    lab_id = home if requested in (None, "") else parse_lab_id(requested)
    if lab_id is None:
        raise ValidationError(
            {"lab_id": "lab_id is a lab's id, a positive whole number."}
        )
    kind = user_kind(user)
    _check(user, lab_id, kind, lab_facts([home, lab_id]))
    return lab_id, kind


def begin_lab_session(
    session: SessionBase, user: Any, lab_id: int, kind: LabKind
) -> None:
    """Record in `session` (after `auth.login`) the lab chosen by
    `choose_sign_in_lab`, with the epochs it was authorised at."""
    facts = lab_facts([user.lab_id, lab_id])
    start_lab_session(session, lab_id, kind, _epochs(user, lab_id, facts))


def authorise_session(user: Any, session: SessionBase) -> SessionDecision:
    """Re-check a signed-in user's session lab; see the module docstring."""
    found = read_session_lab(session)
    if found is None or not user.is_authenticated:
        return SessionDecision(None)
    if user.lab_id is None:
        return SessionDecision(None, "the account is no longer attached to a lab")
    facts = lab_facts([user.lab_id, found.lab_id])
    expected = _epochs(user, found.lab_id, facts)
    if found.epochs != expected:
        return SessionDecision(None, _why_ended(found.epochs, expected, found.lab_id))
    kind = user_kind(user)
    try:
        _check(user, found.lab_id, kind, facts)
    except LabAccessDenied:
        return SessionDecision(None)
    if kind is not found.kind:
        return SessionDecision(None, "the account became another kind of user")
    return SessionDecision(_scope(found.lab_id, kind, facts[found.lab_id]))


def scope_for_api_key(api_key: Any) -> LabScope:
    """The scope of a request carrying a valid `api_key` (checked already)."""
    facts = lab_facts([api_key.lab_id])[api_key.lab_id]
    return _scope(api_key.lab_id, LabKind.API_KEY, facts)


def scope_for_session(session: SessionBase) -> LabScope | None:
    """The authorised scope of any session (its user loaded and checked as
    a request would), or None. For code holding a session and no request."""
    request = HttpRequest()
    request.session = session
    decision = authorise_session(get_user(request), session)
    return decision.scope


def _check(user: Any, lab_id: int, kind: LabKind, facts: dict[int, LabFacts]) -> None:
    home = facts[user.lab_id]
    if kind is LabKind.DOCTOR and lab_id != home.lab_id:
        raise LabAccessDenied(
            f"Doctors sign in to their own lab; leave lab_id out or send {home.lab_id}."
        )
    if lab_id != home.lab_id and lab_id not in home.descendants:
        raise LabAccessDenied(
            f"You cannot sign in to lab {lab_id}: staff sign in to their own lab "
            "or one of its child labs."
        )
    if not home.active:
        raise LabAccessDenied(
            f"Your lab {home.lab_id} is deactivated; nobody of it can sign in."
        )
    if not facts[lab_id].active:
        raise LabAccessDenied(f"Lab {lab_id} is deactivated; nobody can sign in to it.")


def _scope(lab_id: int, kind: LabKind, facts: LabFacts) -> LabScope:
    children = () if kind is LabKind.DOCTOR else facts.descendants
    return LabScope(lab_id, kind, (lab_id, *children))


def _epochs(user: Any, lab_id: int, facts: dict[int, LabFacts]) -> tuple[int, int, int]:
    return (
        getattr(user, "session_epoch", 0),
        facts[user.lab_id].session_epoch,
        facts[lab_id].session_epoch,
    )


def _why_ended(
    recorded: tuple[int, int, int], current: tuple[int, int, int], lab_id: int
) -> str:
    if recorded[0] != current[0]:
        return "the account was deactivated or moved to another lab or kind"
    if recorded[2] != current[2]:
        return f"lab {lab_id} was deactivated"
    return "the user's own lab was deactivated"
