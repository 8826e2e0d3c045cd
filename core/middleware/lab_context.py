"""The lab a request acts for: `request.scope` (core.tenancy.LabScope), and
from it `request.lab_id`, `request.lab_kind` and `request.child_lab_ids`.

A request belongs to a lab in one of three ways:

- lab staff signed in (the session's lab, core.tenancy.session);
- a doctor signed in (likewise; a doctor reads their own lab only);
- an API key (`core.middleware.api_key`): the key's lab and the labs below.

The session is re-authorised on every request (core.tenancy.access): the
user is active, the lab is active and is the user's home lab or one below
it. When that fails the request has no lab. When the user or a lab was
deactivated (or the user moved to another lab or kind) since sign-in, the
session is ended, recorded in the activity log, and does not come back on
reactivation. The check costs one Redis call (core.tenancy.facts).

Views read their lab from here only, never from the session.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

from core.auth.security_events import end_session_event
from core.tenancy import LabKind, LabScope
from core.tenancy.access import authorise_session, scope_for_api_key

if TYPE_CHECKING:
    from core.models.api_key import ApiKey


class LabRequest(HttpRequest):
    """An HttpRequest as the core middleware leave it, for type hints only:
    `def view(request: LabRequest) -> ...` lets a type checker see the
    attributes set by ApiKeyMiddleware and LabContextMiddleware."""

    api_key: "ApiKey | None"
    scope: LabScope | None
    lab_id: int | None
    lab_kind: LabKind | None
    #: The labs below `lab_id` the request may read (empty for a doctor).
    child_lab_ids: list[int]


class LabContextMiddleware:
    """Sets `request.scope` and, from it, `request.lab_id`,
    `request.lab_kind` and `request.child_lab_ids` (None, None and [] for a
    request without a lab).

    Runs after AuthenticationMiddleware and ApiKeyMiddleware.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        scope = request_scope(request)
        request.scope = scope  # type: ignore[attr-defined]
        request.lab_id = scope.lab_id if scope else None  # type: ignore[attr-defined]
        request.lab_kind = scope.kind if scope else None  # type: ignore[attr-defined]
        request.child_lab_ids = list(scope.child_lab_ids) if scope else []  # type: ignore[attr-defined]
        return self.get_response(request)


def request_scope(request: HttpRequest) -> LabScope | None:
    """The request's scope: its API key's, else its signed-in session's
    after re-authorising it (ending it when it must end), else None."""
    api_key = getattr(request, "api_key", None)
    if api_key is not None:
        return scope_for_api_key(api_key)
    user = request.user
    if not user.is_authenticated:
        return None
    decision = authorise_session(user, request.session)
    if decision.end_reason is not None:
        end_session_event(user, decision.end_reason)
        logout(request)  # flushes the session; request.user is anonymous
    return decision.scope
