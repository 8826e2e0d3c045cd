"""The authentication backend: settings.AUTHENTICATION_BACKENDS.

It is the one gate of password checks. Every sign-in path calls Django's
`authenticate()` (the JSON endpoint core/auth/views.py, the admin's login
form, any future form built on AuthenticationForm or LoginView), and
`authenticate()` calls this backend, so each of them is throttled
(core.auth.throttle: counted before the password is checked) and
each failure is written to the activity log the same way. Nothing else in
the project checks a password (a test enforces it).

`SignInThrottled` (429) and `SignInUnavailable` (503) propagate out of
`authenticate()` (Django only swallows PermissionDenied) and are answered by
ApiErrorMiddleware on every path, as JSON on API routes.
"""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from core.auth.security_events import (
    USER_MODEL_LABEL,
    SecurityEvent,
    mark_password_checked,
    record_security_event,
)
from core.auth.signed_in_users import signed_in_user
from core.auth.throttle import SignInThrottle
from core.utils.activity_log.context import current_request


class SignedInUserBackend(ModelBackend):
    """Django's ModelBackend with the project's throttle and audit around
    every password check, and `get_user` (called by the authentication
    middleware on every request with a session) served from Redis when
    sessions are there; see core/auth/signed_in_users.py."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """The user whose password this is, or None; raises SignInThrottled
        or SignInUnavailable before checking when the attempt may not be
        checked."""
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None
        throttle = SignInThrottle(
            username=username, client_ip=current_request().client_ip
        )
        throttle.begin()
        user = super().authenticate(request, username, password, **kwargs)
        if user is None:
            _record_failure(username)
            return None
        throttle.succeeded()
        mark_password_checked(request, user)
        return user

    def get_user(self, user_id: Any) -> Any:
        user = signed_in_user(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None


def _record_failure(username: str) -> None:
    """Log a failed sign-in against the account when the username is one;
    an unknown username is not written anywhere (people type passwords into
    the username field)."""
    user_model = get_user_model()
    known = (
        user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username})
        .values_list("pk", "lab_id", "is_active")
        .first()
    )
    if known is None:
        message, pk, lab_id = "Failed sign-in: unknown username", "", None
    else:
        pk, lab_id, active = known
        message = (
            "Failed sign-in: wrong password"
            if active
            else "Failed sign-in: the account is deactivated"
        )
    record_security_event(
        SecurityEvent.LOGIN_FAILED,
        model_label=USER_MODEL_LABEL,
        instance_id=pk,
        lab_id=lab_id,
        message=message,
    )
