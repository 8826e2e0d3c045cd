"""Errors as JSON on API routes.

Paths starting with one of settings.API_PATH_PREFIXES (default "/core/" and
"/api/") are API routes. An exception a view raises there becomes a JSON
answer, `{"error": <message for people>, "request_id": <id>, ...}`:

| raised                                   | status | body extra                      |
|------------------------------------------|--------|---------------------------------|
| django ValidationError                   | 400    | "fields": {field: [messages]}   |
| ... of uniqueness conflicts only         | 409    | "fields": {field: [messages]}   |
| MalformedJson (core.utils.json_input)    | 400    | "fields": {where: [message]}    |
| BadRequest, SuspiciousOperation          | 400    |                                 |
| RequestDataTooBig (body over the limit)  | 413    |                                 |
| PermissionDenied                         | 403    |                                 |
| Http404, ObjectDoesNotExist              | 404    |                                 |
| VersionConflict (core.exceptions)        | 409    |                                 |
| SessionStoreUnavailable                  | 503    | (with Retry-After)              |
| SignInThrottled (core.auth.throttle) | 429  | (with Retry-After)              |
| SignInUnavailable                        | 503    | (with Retry-After)              |
| anything else                            | 500    | nothing but the request id      |

A 500 says only that it failed and which request id to quote; the exception
goes to the log (with the request id, see RequestIdLogFilter) and to Sentry
when it runs, never to the client. Any error Django answers in HTML on an
API route (a 404 when no URL matched, a 405 for a method the view does not
take, a CSRF 403) is answered as JSON too, with the same status and the
Allow / Retry-After headers. Other routes (the admin) keep Django's
behaviour, except for the two sign-in refusals, which any sign-in path may
raise (the admin's login form too): they are answered 429 / 503 with
Retry-After on every route, as plain text outside the API.
"""

import logging
from collections.abc import Callable
from http import HTTPStatus

import sentry_sdk
from django.conf import settings
from django.core.exceptions import (
    BadRequest,
    ObjectDoesNotExist,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    ValidationError,
)
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse

from core.auth.sessions import SessionStoreUnavailable
from core.auth.throttle import SignInThrottled, SignInUnavailable
from core.exceptions import VersionConflict
from core.http import (
    is_api_path,
    json_error,
    malformed_json_response,
    validation_fields,
)
from core.utils.activity_log.context import current_request
from core.utils.json_input import MalformedJson

logger = logging.getLogger(__name__)

#: Retry-After of a 503 while sessions are unavailable (about the cache
#: breaker's reset time).
UNAVAILABLE_RETRY_AFTER_SECONDS = 5


class ApiErrorMiddleware:
    """Turns exceptions of API views into JSON answers (see the module doc)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and is_api_path(request.path)
            and response.get("Content-Type", "").startswith("text/html")
        ):
            return json_instead_of_html(request, response)
        return response

    def process_exception(
        self, request: HttpRequest, exception: Exception
    ) -> HttpResponse | None:
        """The JSON answer for `exception` on an API route; None elsewhere
        (but for the sign-in refusals, answered everywhere)."""
        if isinstance(exception, SignInThrottled | SignInUnavailable):
            return sign_in_refusal(request, exception)
        if not is_api_path(request.path):
            return None
        return exception_response(request, exception)


#: Headers of an HTML error answer that a client still needs in its JSON one.
KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")


def json_instead_of_html(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """The JSON answer for an error Django answered in HTML on an API route
    (no URL matched, a method the view does not take, ...), with the same
    status and the headers a client acts on."""
    status = response.status_code
    if status == 404:
        message = f"There is no API at {request.path}."
    elif status == 405:
        allowed = response.get("Allow", "")
        message = f"{request.method} is not allowed here; use {allowed}."
    else:
        message = _said(response) or _phrase(status)
    answer = json_error(message, status)
    for header in KEPT_HEADERS:
        if header in response:
            answer[header] = response[header]
    return answer


def _only_duplicates(error: ValidationError) -> bool:
    """Whether every problem of `error` is a uniqueness conflict (409): the
    input is well formed, but another record holds the value."""
    problems = [e for found in error.update_error_dict({}).values() for e in found]
    return bool(problems) and all(
        getattr(problem, "code", None) in ("unique", "unique_together")
        for problem in problems
    )


def _said(response: HttpResponse) -> str:
    """The message of an answer whose body is a short plain sentence (a
    view's `HttpResponseForbidden("This link has expired.")`), not a page."""
    if getattr(response, "streaming", False):
        return ""
    text = response.content.decode("utf-8", errors="replace").strip()
    return text if text and len(text) <= 300 and "<" not in text else ""


def _phrase(status: int) -> str:
    """HTTP's reason phrase for `status` ("Forbidden."), or "Error."."""
    try:
        return f"{HTTPStatus(status).phrase}."
    except ValueError:
        return "Error."


def sign_in_refusal(
    request: HttpRequest, refusal: SignInThrottled | SignInUnavailable
) -> HttpResponse:
    """429 (throttled) or 503 (counters unavailable) with Retry-After: JSON
    on API routes, plain text elsewhere (the admin's login page)."""
    if isinstance(refusal, SignInThrottled):
        status, wait = 429, refusal.retry_after_seconds
    else:
        logger.warning("sign-in refused, its throttle is unavailable")
        status, wait = 503, UNAVAILABLE_RETRY_AFTER_SECONDS
    if is_api_path(request.path):
        response: HttpResponse = json_error(str(refusal), status)
    else:
        response = HttpResponse(
            str(refusal), status=status, content_type="text/plain; charset=utf-8"
        )
        response["Cache-Control"] = "no-store"
    response["Retry-After"] = str(wait)
    return response


def exception_response(request: HttpRequest, exception: Exception) -> JsonResponse:
    """The JSON answer for an exception raised by an API view."""
    if isinstance(exception, ValidationError):
        fields = validation_fields(exception)
        if _only_duplicates(exception):
            return json_error(
                "A record with these values already exists; see fields.",
                409,
                fields=fields,
            )
        return json_error("Some values are not valid; see fields.", 400, fields=fields)
    if isinstance(exception, MalformedJson):
        return malformed_json_response(exception)
    if isinstance(exception, BadRequest):
        return json_error(str(exception) or "The request is not valid.", 400)
    if isinstance(exception, SuspiciousOperation):
        return _suspicious(exception)
    if isinstance(exception, PermissionDenied):
        return json_error(
            str(exception) or "You do not have permission to do this.", 403
        )
    if isinstance(exception, Http404):
        return json_error(str(exception) or "Not found.", 404)
    if isinstance(exception, ObjectDoesNotExist):
        # "Patient.DoesNotExist" -> "Patient not found." (never the query)
        model = type(exception).__qualname__.split(".")[0]
        name = "Record" if model == "ObjectDoesNotExist" else model
        return json_error(f"{name} not found.", 404)
    if isinstance(exception, VersionConflict):
        return json_error(str(exception), 409)
    if isinstance(exception, SessionStoreUnavailable):
        logger.warning("%s %s: %s", request.method, request.path, exception)
        response = json_error(
            "Signing in and out is unavailable for a moment; try again shortly.", 503
        )
        response["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER_SECONDS)
        return response
    return _server_error(request, exception)


def _suspicious(exception: SuspiciousOperation) -> JsonResponse:
    """What Django answers for these outside API routes (400, logged to
    django.security.<name>), as JSON; a body over the limit is a 413."""
    name = type(exception).__name__
    logging.getLogger(f"django.security.{name}").error("%s", exception)
    if isinstance(exception, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return json_error(
            f"The request body is larger than {limit:,} bytes, the most accepted "
            "(settings.DATA_UPLOAD_MAX_MEMORY_SIZE); send less.",
            413,
        )
    return json_error(
        "The request is not valid (too many fields, or malformed headers); "
        "check what is sent.",
        400,
    )


def _server_error(request: HttpRequest, exception: Exception) -> JsonResponse:
    request_id = current_request().request_id
    logger.error(
        "Unhandled %s in %s %s",
        type(exception).__name__,
        request.method,
        request.path,
        exc_info=exception,
    )
    # Explicit, so the error reaches Sentry even with its logging integration
    # off; with it on, the SDK's dedupe drops this second copy of the event.
    sentry_sdk.capture_exception(exception)
    return json_error(
        "Something went wrong on our side. If it happens again, quote "
        f"request id {request_id} to support.",
        500,
    )
