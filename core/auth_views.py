"""Signing in and out of a lab: the JSON endpoints under /core/auth/.

- `GET /core/auth/csrf/` -> `{"csrfToken": ...}` (and the csrftoken cookie).
  Every POST below needs it in the `X-CSRFToken` header.
- `POST /core/auth/login/` with `{"username", "password", "lab_id"?}`.
  Staff sign in to their own lab (`lab_id` omitted) or to one of its child
  labs at any depth; the session gets `labId`. Doctors sign in to their own
  lab only; the session gets `docLabId`. A user without a lab, or a
  deactivated lab, cannot sign in here (superusers use the admin's sign-in).
  The session key is replaced at sign-in (no fixation) and so is the CSRF
  token: the answer carries the new one. Failed attempts are throttled per
  username and per IP (429 with Retry-After; core.middleware.throttle).
- `POST /core/auth/logout/` ends the session; answered 200 even when nobody
  was signed in.

Sign-ins, failed sign-ins and sign-outs are written to the activity log.
Answers: 200; 400 malformed input; 401 wrong username or password (one
message for both); 403 lab not allowed; 429 throttled; 503 Redis down.
"""

import logging
from typing import Any

from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.views import csrf
from django.views.decorators.csrf import ensure_csrf_cookie

from admin.account.models import Lab
from core.decorators import allowed_methods, json_view
from core.middleware.activity_context import actor_for_user
from core.middleware.api_errors import is_api_path, json_error
from core.middleware.cache_redis import StoreUnavailable
from core.middleware.lab_context import (
    LabKind,
    lab_id_from_session,
    parse_lab_id,
    start_lab_session,
)
from core.middleware.security_events import (
    USER_MODEL_LABEL,
    SecurityEvent,
    record_security_event,
)
from core.middleware.throttle import SignInThrottle
from core.models.lab_scoped import lab_ids_in_scope
from core.utils.activity_log.context import current_request
from core.utils.json_input import INTEGER, TEXT

logger = logging.getLogger(__name__)

#: Retry-After of a 503 while the failure counters are unavailable.
THROTTLE_DOWN_RETRY_AFTER_SECONDS = 5
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
    throttle = SignInThrottle(username=username, client_ip=current_request().client_ip)
    refusal = _throttled(throttle)
    if refusal is not None:
        return refusal
    user = authenticate(request, username=username, password=password)
    if user is None:
        _count_failure(throttle)
        _record_failed_password(username)
        return json_error("The username or password is not correct.", 401)
    try:
        lab_id, kind = sign_in_lab(user, data.get("lab_id"))
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
    start_lab_session(request.session, lab_id, kind)
    try:
        throttle.forget_account_failures()
    except StoreUnavailable as exc:
        logger.warning("failed sign-ins not cleared after a sign-in: %s", exc)
    record_security_event(
        SecurityEvent.LOGIN,
        model_label=USER_MODEL_LABEL,
        instance_id=user.pk,
        lab_id=lab_id,
        message=f"Signed in to lab {lab_id} as {kind}",
        actor=actor_for_user(user),
    )
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
    """End the session (and write the sign-out to the activity log)."""
    user = request.user
    lab_id = lab_id_from_session(request.session)
    auth_logout(request)
    if user.is_authenticated:
        record_security_event(
            SecurityEvent.LOGOUT,
            model_label=USER_MODEL_LABEL,
            instance_id=user.pk,
            lab_id=lab_id,
            message="Signed out",
            actor=actor_for_user(user),
        )
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


def sign_in_lab(user: Any, requested: Any) -> tuple[int, LabKind]:
    """The lab `user` signs in to and the session kind, or PermissionDenied /
    ValidationError saying why not (see the module docstring for the rules).

    Example: staff of lab 1 asking for child lab 4 -> `(4, LabKind.STAFF)`.
    """
    home = user.lab_id
    if home is None:
        raise PermissionDenied(
            "Your account is not attached to a lab; ask an administrator to set "
            "your lab."
        )
    kind = LabKind.DOCTOR if user.kind == "doctor" else LabKind.STAFF
    lab_id = home if requested in (None, "") else parse_lab_id(requested)
    if lab_id is None:
        raise ValidationError(
            {"lab_id": "lab_id is a lab's id, a positive whole number."}
        )
    if kind is LabKind.DOCTOR and lab_id != home:
        raise PermissionDenied(
            f"Doctors sign in to their own lab; leave lab_id out or send {home}."
        )
    in_scope = lab_id == home or lab_id in lab_ids_in_scope(home)
    if kind is LabKind.STAFF and not in_scope:
        raise PermissionDenied(
            f"You cannot sign in to lab {lab_id}: staff sign in to their own lab "
            "or one of its child labs."
        )
    if not Lab.objects.filter(pk=lab_id, is_active=True).exists():
        raise PermissionDenied(
            f"Lab {lab_id} is deactivated; nobody can sign in to it."
        )
    return lab_id, kind


def _throttled(throttle: SignInThrottle) -> JsonResponse | None:
    """A 429 / 503 answer when the attempt may not proceed, else None."""
    try:
        wait = throttle.retry_after_seconds()
    except StoreUnavailable as exc:
        # Fail closed: no password is checked without its throttle.
        logger.warning("sign-in refused, its throttle is unavailable: %s", exc)
        response = json_error(
            "Signing in is unavailable for a moment; try again shortly.", 503
        )
        response["Retry-After"] = str(THROTTLE_DOWN_RETRY_AFTER_SECONDS)
        return response
    if not wait:
        return None
    response = json_error(
        f"Too many failed sign-ins; try again in {wait} seconds.", 429
    )
    response["Retry-After"] = str(wait)
    return response


def _count_failure(throttle: SignInThrottle) -> None:
    try:
        throttle.record_failure()
    except StoreUnavailable as exc:
        logger.warning("failed sign-in not counted: %s", exc)


def _record_failed_password(username: str) -> None:
    """Log a failed sign-in against the account when the username is one;
    an unknown username is not written anywhere."""
    user_model = get_user_model()
    known = (
        user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username})
        .values_list("pk", "lab_id")
        .first()
    )
    pk, lab_id = known if known else ("", None)
    record_security_event(
        SecurityEvent.LOGIN_FAILED,
        model_label=USER_MODEL_LABEL,
        instance_id=pk,
        lab_id=lab_id,
        message=(
            "Failed sign-in: wrong password"
            if known
            else "Failed sign-in: unknown username"
        ),
    )
