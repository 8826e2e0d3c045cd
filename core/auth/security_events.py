"""Security events in the activity log: sign-ins, failed sign-ins, sign-outs,
ended sessions and API-key use.

Who writes them, so that no way of signing in escapes:

- Failed password checks: the authentication backend
  (core.auth.backend), which every `authenticate()` call of every
  sign-in path (the JSON endpoint, the admin's form, any future one) goes
  through.
- Sign-ins and sign-outs: `SignInAuditMiddleware`
  (core/middleware/sign_in_audit.py), which sees the session's user change
  around every view, whatever view did it.
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

from enum import StrEnum
from typing import Any

from django.http import HttpRequest

from core.activity_log.models import ActivityLog

# The memoised parent lookup add_activity_log uses, so entries written here
# record the lab's parent the same way at no extra query.
from core.models.activity_log_base import write_entry
from core.utils.activity_log.context import Actor, actor_for_user

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
