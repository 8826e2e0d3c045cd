"""The authentication backend: settings.AUTHENTICATION_BACKENDS."""

from typing import Any

from django.contrib.auth.backends import ModelBackend

from core.middleware.signed_in_users import signed_in_user


class SignedInUserBackend(ModelBackend):
    """Django's ModelBackend, with `get_user` (called by the authentication
    middleware on every request with a session) served from Redis when
    sessions are there; see core/middleware/signed_in_users.py."""

    def get_user(self, user_id: Any) -> Any:
        user = signed_in_user(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None
