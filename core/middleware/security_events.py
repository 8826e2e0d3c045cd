"""Security events in the activity log: sign-ins, failed sign-ins, sign-outs,
ended sessions and API-key use.

Who writes them, so that no way of signing in escapes:

- Failed password checks: the authentication backend
  (core.middleware.auth_backend), which every `authenticate()` call of every
  sign-in path (the JSON endpoint, the admin's form, any future one) goes
  through.
- Sign-ins and sign-outs: `SignInAuditMiddleware`, which sees the session's
  user change around every view, whatever view did it.
- Sessions ended because the user or a lab was deactivated:
  LabContextMiddleware, through `end_session_event`.
- API-key use and refusals: core.middleware.api_key.

They are entries like every other (same table, same per-lab hash chain, same
shipping to Elasticsearch), about the record concerned: the user
(`account.user`) for sign-ins, the key (`core.apikey`) for API-key events.
They fall in category `SECURITY_CATEGORY_ID`, so an inspector can list them
across records.

Nothing secret is written: no password, no key, and no username that failed
to match an account (people type passwords into the username field).
"""

from collections.abc import Callable
from enum import StrEnum
from typing import Any

from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest, HttpResponse

from core.middleware.activity_context import actor_for_user
from core.models.activity_log import ActivityLog

# The memoised parent lookup add_activity_log uses, so entries written here
# record the lab's parent the same way at no extra query.
from core.models.activity_log_base import write_entry
from core.tenancy.session import read_session_lab
from core.utils.activity_log.context import Actor

#: `category_id` of every security event (model changes use 1-3).
SECURITY_CATEGORY_ID = 90
#: The model label of sign-in events.
USER_MODEL_LABEL = "account.user"
#: The model label of API-key events.
API_KEY_MODEL_LABEL = "core.apikey"


class SecurityEvent(StrEnum):
    """The `action` of a security entry (at most 16 characters, the column)."""

    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGOUT = "logout"
    SESSION_ENDED = "session_ended"
    API_KEY_USED = "api_key_used"
    API_KEY_REFUSED = "api_key_refused"


def record_security_event(
    event: SecurityEvent,
    *,
    model_label: str,
    instance_id: object,
    lab_id: int | None,
    message: str,
    actor: Actor | None = None,
) -> ActivityLog:
    """Write one security entry now (in the current transaction, if any).

    `actor` defaults to the context's actor (the system actor before anyone
    is signed in); the request id, client IP and user agent come from the
    request context. `instance_id` may be "" when the record is unknown.

    Example: `record_security_event(SecurityEvent.LOGOUT, model_label=
    USER_MODEL_LABEL, instance_id=user.pk, lab_id=3, message="Signed out")`.
    """
    return write_entry(
        lab_id=lab_id,
        model_label=model_label,
        instance_id=instance_id,
        action=str(event),
        actor=actor,
        category_id=SECURITY_CATEGORY_ID,
        message=message,
    )


def end_session_event(user: Any, reason: str) -> None:
    """Record that `user`'s session was ended by the system, and why
    (e.g. "lab 4 was deactivated")."""
    record_security_event(
        SecurityEvent.SESSION_ENDED,
        model_label=USER_MODEL_LABEL,
        instance_id=user.pk,
        lab_id=user.lab_id,
        message=f"Session ended: {reason}",
        actor=actor_for_user(user),
    )


def mark_password_checked(request: HttpRequest | None, user: Any) -> None:
    """Note on `request` that `user`'s password was checked in it, so that a
    sign-in of the same user again (the session's user unchanged) is still
    recorded by SignInAuditMiddleware."""
    if request is not None:
        request.password_checked_user_id = str(user.pk)  # type: ignore[attr-defined]


class SignInAuditMiddleware:
    """Records a sign-in when a view signs a user in (the session's user
    changed, or the same user signed in again after a password check), and
    a sign-out when a view signs the user out; whatever view did it.

    Runs after LabContextMiddleware (a session it ends is recorded there,
    with its reason) and wraps the view.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        before = _session_user_id(request)
        signed_out: tuple[Any, int | None] | None = None
        if before is not None:
            found = read_session_lab(request.session)
            signed_out = (request.user, found.lab_id if found else None)
        key_before = request.session.session_key
        response = self.get_response(request)
        after = _session_user_id(request)
        # auth.login() always issues a new session key; a password checked
        # in a request that then refused the sign-in leaves the key alone.
        again = after == getattr(request, "password_checked_user_id", None) and (
            request.session.session_key != key_before
        )
        if after is not None and (after != before or again):
            _record_sign_in(request)
        elif after is None and signed_out is not None:
            _record_sign_out(*signed_out)
        return response


def _session_user_id(request: HttpRequest) -> str | None:
    session = getattr(request, "session", None)
    value = session.get(SESSION_KEY) if session is not None else None
    return None if value is None else str(value)


def _record_sign_in(request: HttpRequest) -> None:
    user = request.user
    found = read_session_lab(request.session)
    lab_id: int | None
    if found is not None:
        lab_id, message = (
            found.lab_id,
            f"Signed in to lab {found.lab_id} as {found.kind}",
        )
    else:
        lab_id, message = getattr(user, "lab_id", None), "Signed in (no lab)"
    record_security_event(
        SecurityEvent.LOGIN,
        model_label=USER_MODEL_LABEL,
        instance_id=user.pk,
        lab_id=lab_id,
        message=message,
        actor=actor_for_user(user),
    )


def _record_sign_out(user: Any, lab_id: int | None) -> None:
    if not user.is_authenticated:
        return  # the session named a user who no longer signs in
    record_security_event(
        SecurityEvent.LOGOUT,
        model_label=USER_MODEL_LABEL,
        instance_id=user.pk,
        lab_id=lab_id if lab_id is not None else getattr(user, "lab_id", None),
        message="Signed out",
        actor=actor_for_user(user),
    )
