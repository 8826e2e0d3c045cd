"""Security events in the activity log: sign-ins, failed sign-ins, sign-outs
and API-key use.

They are entries like every other (same table, same per-lab hash chain, same
shipping to Elasticsearch), about the record concerned: the user
(`account.user`) for sign-ins, the key (`core.apikey`) for API-key events.
They fall in category `SECURITY_CATEGORY_ID`, so an inspector can list them
across records.

Nothing secret is written: no password, no key, and no username that failed
to match an account (people type passwords into the username field).
"""

from enum import StrEnum

from core.models.activity_log import ActivityLog

# The memoised parent lookup add_activity_log uses, so entries written here
# record the lab's parent the same way at no extra query.
from core.models.activity_log_base import write_entry
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
