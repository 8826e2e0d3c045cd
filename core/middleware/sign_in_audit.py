"""SignInAuditMiddleware: a sign-in or sign-out by any view is written to the
activity log (core.auth.security_events), so that no way of signing in
escapes the audit, whatever view signs the user in or out.
"""

from collections.abc import Callable
from typing import Any

from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest, HttpResponse

from core.auth.security_events import (
    USER_MODEL_LABEL,
    SecurityEvent,
    record_security_event,
)
from core.tenancy.session import read_session_lab
from core.utils.activity_log.context import actor_for_user


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
