"""Decorators for the common patterns of JSON API views.

Every refusal is a JSON error (`{"error": ..., "request_id": ...}`, see
core.middleware.api_errors) that says what was wrong and what would be
right. Stack them outermost first in this order, so a request is refused by
the cheapest check that applies:

    @allowed_methods("POST")
    @require_lab_session("staff")
    @require_permission("patients.change_patient")
    @rate_limit(30, 60, per="user")
    @json_view(required=("patient_id",))
    def release_report(request, data):
        ...
        return {"released": True}

- `allowed_methods(*methods)`: 405 (with Allow) for any other method.
- `require_lab_session(kind)`: a signed-in lab session ("staff", "doctor" or
  "any"); 401 without one, 403 for the other kind or an API key.
- `require_lab`: a lab session (CSRF-checked) or an API key; 401 without.
- `require_api_key`: a valid API key (checked by ApiKeyMiddleware); 401
  without. Such views are exempt from CSRF: they are not cookie-authenticated.
- `require_permission(perm)`: the signed-in user has `perm`; 401 / 403.
- `rate_limit(limit, window_seconds, per=...)`: 429 with Retry-After past
  `limit` requests per window per lab, user or IP (see
  core.ratelimit.rates for Redis outages: fail open by default).
- `json_view(required=..., fields=...)`: the view gets `data` (the JSON
  object body, or the query parameters for GET / HEAD) and may return a
  dict or list, sent as JSON; 400 for a body the parser refuses (see
  core.utils.json_input), missing parameters, or values of the wrong JSON
  type (`fields`, e.g. `{"username": TEXT}`), all fields at once.

Views read their lab from `request.scope` (LabContextMiddleware).
"""

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_protect

from core.http import json_error, malformed_json_response
from core.ratelimit.rates import check_rate
from core.tenancy import LabKind
from core.utils.activity_log.context import current_request
from core.utils.json_input import (
    JsonField,
    MalformedJson,
    field_problems,
    key_path,
    parse_json_object,
    text_problem,
)

View = Callable[..., Any]

#: Methods whose parameters come from the query string, not a body.
QUERY_METHODS = frozenset({"GET", "HEAD"})
#: What `require_lab_session` accepts for each `kind`.
_SESSION_KINDS = {
    "staff": {LabKind.STAFF},
    "doctor": {LabKind.DOCTOR},
    "any": {LabKind.STAFF, LabKind.DOCTOR},
}
_KIND_NAMES = {
    LabKind.STAFF: "lab staff",
    LabKind.DOCTOR: "a doctor",
    LabKind.API_KEY: "an API key",
}
#: What `rate_limit(per=...)` counts by.
RATE_LIMIT_PER = ("lab", "user", "ip")


def allowed_methods(*methods: str) -> Callable[[View], View]:
    """Refuse other HTTP methods with 405 and an Allow header.

    Example: `@allowed_methods("GET", "POST")`.
    """
    allowed = [method.upper() for method in methods]
    if not allowed:
        raise ValueError("allowed_methods needs at least one method, e.g. 'GET'.")

    def decorator(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            if request.method not in allowed:
                response = json_error(
                    f"{request.method} is not allowed here; use "
                    f"{' or '.join(allowed)}.",
                    405,
                )
                response["Allow"] = ", ".join(allowed)
                return response
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def require_lab_session(kind: str = "any") -> Callable[[View], View]:
    """Only requests signed in to a lab as `kind`: "staff", "doctor" or
    "any" of the two (`request.lab_kind`).

    401 when nobody is signed in to a lab; 403 for the other kind, or for an
    API key (use `require_api_key` for integrations).
    """
    if kind not in _SESSION_KINDS:
        raise ValueError(
            f"require_lab_session(kind={kind!r}): use one of "
            f"{', '.join(_SESSION_KINDS)}."
        )
    accepted = _SESSION_KINDS[kind]

    def decorator(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            lab_kind = getattr(request, "lab_kind", None)
            if lab_kind is None:
                return json_error(
                    "Sign in to a lab first (POST /core/auth/login/).", 401
                )
            if lab_kind not in accepted:
                wanted = " or ".join(sorted(_KIND_NAMES[k] for k in accepted))
                return json_error(
                    f"This is for {wanted} signed in to a lab; this request is "
                    f"from {_KIND_NAMES[lab_kind]}.",
                    403,
                )
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def require_lab(view: View) -> View:
    """Only requests acting for a lab: a lab session (staff or doctor,
    CSRF-checked) or an API key (not CSRF-checked: key requests carry no
    cookie to forge); 401 otherwise."""
    protected = csrf_protect(view)

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if getattr(request, "lab_id", None) is None:
            return json_error(
                "Sign in to a lab (POST /core/auth/login/) or send an API key "
                "('Authorization: Bearer <key>').",
                401,
            )
        if getattr(request, "api_key", None) is not None:
            return view(request, *args, **kwargs)
        return protected(request, *args, **kwargs)

    # The global CSRF check is skipped; `protected` applies it to sessions.
    wrapper.csrf_exempt = True  # type: ignore[attr-defined]
    return wrapper


def require_api_key(view: View) -> View:
    """Only requests with a valid API key (`request.api_key`, set by
    ApiKeyMiddleware, which already refused bad keys). CSRF-exempt: key
    requests carry no cookie to forge."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if getattr(request, "api_key", None) is None:
            return json_error(
                "Send an API key: 'Authorization: Bearer <key>' or 'X-API-Key: <key>'.",
                401,
            )
        return view(request, *args, **kwargs)

    wrapper.csrf_exempt = True  # type: ignore[attr-defined]
    return wrapper


def require_permission(permission: str) -> Callable[[View], View]:
    """Only signed-in users holding `permission` ("app_label.codename").

    401 when nobody is signed in; 403 without the permission, and for API
    keys, which hold no user permissions.
    """
    if "." not in permission:
        raise ValueError(
            f"require_permission({permission!r}): name it 'app_label.codename', "
            "e.g. 'patients.change_patient'."
        )

    def decorator(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            if getattr(request, "api_key", None) is not None:
                return json_error(
                    f"This needs a signed-in user with permission {permission}; "
                    "API keys hold no user permissions.",
                    403,
                )
            if not request.user.is_authenticated:
                return json_error("Sign in first (POST /core/auth/login/).", 401)
            if not request.user.has_perm(permission):
                return json_error(
                    f"You need the permission {permission} to do this; ask your "
                    "lab's administrator.",
                    403,
                )
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def rate_limit(
    limit: int,
    window_seconds: int,
    *,
    per: str = "ip",
    scope: str | None = None,
    fail_open: bool | None = None,
) -> Callable[[View], View]:
    """At most `limit` requests per `window_seconds` for each lab, user or
    client IP (`per`), counted per view (or per `scope`, to share a limit
    between views). Past it: 429 with Retry-After.

    `per="lab"` counts by `request.lab_id` and `per="user"` by the signed-in
    user or the API key; a request without one is counted by its IP.
    `fail_open` (default settings.RATE_LIMIT_FAIL_OPEN, True) decides what
    happens while Redis is down: allow, or answer 503.
    """
    if per not in RATE_LIMIT_PER:
        raise ValueError(
            f"rate_limit(per={per!r}): use one of {', '.join(RATE_LIMIT_PER)}."
        )
    if limit < 1 or window_seconds < 1:
        raise ValueError(
            f"rate_limit needs limit >= 1 and window_seconds >= 1; got {limit} "
            f"per {window_seconds} s."
        )

    def decorator(view: View) -> View:
        name = scope or f"{view.__module__}.{view.__qualname__}"

        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            key = f"rate:{name}:{_rate_identity(request, per)}"
            policy = settings.RATE_LIMIT_FAIL_OPEN if fail_open is None else fail_open
            decision = check_rate(key, limit, window_seconds, fail_open=policy)
            if decision.allowed:
                return view(request, *args, **kwargs)
            if decision.degraded:
                response = json_error(
                    "This service is briefly unavailable; try again shortly.", 503
                )
            else:
                response = json_error(
                    f"Too many requests: at most {limit} per {window_seconds} "
                    f"seconds per {per}. Try again in "
                    f"{decision.retry_after_seconds} seconds.",
                    429,
                )
            response["Retry-After"] = str(decision.retry_after_seconds)
            return response

        return wrapper

    return decorator


def _rate_identity(request: HttpRequest, per: str) -> str:
    """ "lab:3", "user:12", "key:4" or "ip:203.0.113.9" (the fallback)."""
    if per == "lab" and getattr(request, "lab_id", None) is not None:
        return f"lab:{request.lab_id}"  # type: ignore[attr-defined]
    if per == "user":
        api_key = getattr(request, "api_key", None)
        if api_key is not None:
            return f"key:{api_key.pk}"
        if request.user.is_authenticated:
            return f"user:{request.user.pk}"
    return f"ip:{current_request().client_ip or 'unknown'}"


def json_view(
    required: Sequence[str] = (), fields: Mapping[str, JsonField] | None = None
) -> Callable[[View], View]:
    """JSON in and out: the view is called with `data=` (a dict) and may
    return a dict or list (sent as JSON, status 200) or any response.

    `data` is the body's JSON object, or `{}` for an empty body; for GET and
    HEAD, the query parameters (last value of each). `required` names
    parameters that must be present and not null or ""; `fields` gives the
    JSON type of body fields (core.utils.json_input.fields; query
    parameters are text by nature and are not type-checked). Every missing
    or mistyped field is reported in one 400.

    Example: `@json_view(required=("username",), fields={"username": TEXT})`.
    """
    required = tuple(required)
    declared = dict(fields or {})

    def decorator(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            try:
                data = request_json(request)
            except MalformedJson as malformed:
                return malformed_json_response(malformed)
            problems = {
                name: ["This parameter is required."]
                for name in required
                if data.get(name) in (None, "")
            }
            if request.method not in QUERY_METHODS:
                problems = {**field_problems(data, declared), **problems}
            if problems:
                return _invalid(
                    problems, missing=[n for n in required if n in problems]
                )
            result = view(request, *args, data=data, **kwargs)
            if isinstance(result, HttpResponseBase):
                return result
            if isinstance(result, dict | list):
                response = JsonResponse(result, safe=False)
                response["Cache-Control"] = "no-store"
                return response
            raise TypeError(
                f"{view.__qualname__} returned {type(result).__name__}; a json_view "
                "returns a dict, a list or an HttpResponse."
            )

        return wrapper

    return decorator


def _invalid(problems: dict[str, list[str]], missing: list[str]) -> JsonResponse:
    message = (
        f"Missing parameters: {', '.join(missing)}."
        if missing and len(missing) == len(problems)
        else "Some values are not valid; see fields."
    )
    return json_error(message, 400, fields=problems)


def request_json(request: HttpRequest) -> dict[str, Any]:
    """The request's parameters: the body's JSON object, parsed and checked
    by core.utils.json_input's one parser, or for GET and HEAD the query
    parameters (last value of each; no NUL or other character that cannot
    be stored). Raises MalformedJson (a 400 on API routes) saying what is
    wrong and where.

    Example: a body `{"name": "CBC"}` -> `{"name": "CBC"}`; a body `[1]`
    raises MalformedJson("The request body must be a JSON object ...").
    """
    if request.method in QUERY_METHODS:
        params = {key: request.GET.get(key) for key in request.GET}
        for key, value in params.items():
            problem = text_problem(key) or text_problem(value or "")
            if problem is not None:
                raise MalformedJson(
                    f"In a query parameter: {problem}", key_path("", key)
                )
        return params
    return parse_json_object(request.body)
