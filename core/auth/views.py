"""Signing in and out of a lab: the JSON endpoints under /core/auth/.

- `GET /core/auth/csrf/` -> `{"csrfToken": ...}` (and the csrftoken cookie).
  Every POST below needs it in the `X-CSRFToken` header.
- `POST /core/auth/login/` with `{"username", "password", "lab_id"?}`.
  Staff sign in to their own lab (`lab_id` omitted) or to one of its child
  labs at any depth; the session gets `labId`. Doctors sign in to their own
  lab only; the session gets `docLabId`. A user without a lab, or a
  deactivated lab, cannot sign in here (superusers use the admin's sign-in).
  The session key is replaced at sign-in (no fixation) and so is the CSRF
  token: the answer carries the new one. Attempts are throttled per username
  and per IP by the authentication backend, like every sign-in path (429
  with Retry-After; core.auth.throttle), and the lab is re-authorised
  on every later request (core.tenancy.access).
- `POST /core/auth/logout/` ends the session; answered 200 even when nobody
  was signed in.

Sign-ins, failed sign-ins and sign-outs are written to the activity log
(core.auth.security_events says by whom).
Answers: 200; 400 malformed input; 401 wrong username or password (one
message for both); 403 lab not allowed; 429 throttled; 503 Redis down.
"""

from typing import Any

from django.contrib.auth import authenticate
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.views import csrf
from django.views.decorators.csrf import ensure_csrf_cookie

from core.auth.security_events import (
    USER_MODEL_LABEL,
    SecurityEvent,
    record_security_event,
)
from core.decorators import allowed_methods, json_view
from core.http import is_api_path, json_error
from core.tenancy.access import begin_lab_session, choose_sign_in_lab
from core.utils.json_input import INTEGER, TEXT

#: The JSON types of the sign-in body (core.utils.json_input).
SIGN_IN_FIELDS = {"username": TEXT, "password": TEXT, "lab_id": INTEGER.or_null()}


@allowed_methods("GET")
@ensure_csrf_cookie
def csrf_token(request: HttpRequest) -> JsonResponse:
    """The CSRF token for the X-CSRFToken header (also set as a cookie)."""
    response = JsonResponse({"csrfToken": get_token(request)})
    response["Cache-Control"] = "no-store"
    return response


@allowed_methods("POST")
@json_view(required=("username", "password"), fields=SIGN_IN_FIELDS)
def login(request: HttpRequest, data: dict[str, Any]) -> Any:
    """Sign in to a lab; see the module docstring."""
    username, password = data["username"], data["password"]
    # Throttled and audited by the authentication backend; a throttled
    # attempt raises (429 / 503, answered by ApiErrorMiddleware).
    user = authenticate(request, username=username, password=password)
    if user is None:
        return json_error("The username or password is not correct.", 401)
    try:
        lab_id, kind = choose_sign_in_lab(user, data.get("lab_id"))
    except (PermissionDenied, ValidationError):
        record_security_event(
            SecurityEvent.LOGIN_FAILED,
            model_label=USER_MODEL_LABEL,
            instance_id=user.pk,
            lab_id=user.lab_id,
            message="Failed sign-in: the lab asked for is not allowed",
        )
        raise
    auth_login(request, user)  # a new session key, and a new CSRF token
    begin_lab_session(request.session, user, lab_id, kind)
    return {
        "user": {
            "id": user.pk,
            "name": user.get_full_name() or user.get_username(),
            "kind": str(kind),
        },
        "lab_id": lab_id,
        "csrfToken": get_token(request),
    }


@allowed_methods("POST")
def logout(request: HttpRequest) -> JsonResponse:
    """End the session (SignInAuditMiddleware writes the sign-out)."""
    auth_logout(request)
    return JsonResponse({"signed_out": True})


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """settings.CSRF_FAILURE_VIEW: a JSON 403 saying how to send the token
    on API routes; Django's own page elsewhere."""
    if not is_api_path(request.path):
        return csrf.csrf_failure(request, reason)
    return json_error(
        f"CSRF check failed ({reason}). Get a token from GET /core/auth/csrf/ "
        "and send it in the X-CSRFToken header, with the cookies it set.",
        403,
    )
