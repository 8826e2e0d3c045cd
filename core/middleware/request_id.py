"""Every request gets an id: returned in `X-Request-ID`, put in logs, Sentry
and activity entries.

`RequestIdMiddleware` runs first (after the liveness probes' shortcut), so
even a response made by a later middleware (a CSRF failure, a refused API
key) carries the id. It wraps the request in `in_request(...)`, the
ContextVar the activity log and `RequestIdLogFilter` read.

- The id comes from the header named by settings.REQUEST_ID_HEADER (a META
  name such as "HTTP_X_REQUEST_ID") only when that setting is set, i.e. a
  trusted proxy in front overwrites the header; otherwise, and when the given
  value is too long or unprintable, a new one is generated (32 hex digits).
- The client IP is REMOTE_ADDR, or the first address of the header named by
  settings.TRUSTED_PROXY_IP_HEADER when configured (only behind a proxy that
  overwrites it: otherwise any client could claim any address).
- When Sentry is running, the id is the `request_id` tag of every event sent
  during the request, so a user's quoted id finds the error.
"""

import logging
import uuid
from collections.abc import Callable

import sentry_sdk
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from core.http import client_ip_for
from core.utils.activity_log.context import RequestInfo, current_request, in_request

#: Longest request id accepted from a header; longer ones are replaced.
MAX_REQUEST_ID_LENGTH = 64
#: Longest user agent kept (the activity log's column size).
MAX_USER_AGENT_LENGTH = 300
#: The response header carrying the id back to the client.
RESPONSE_HEADER = "X-Request-ID"


class RequestIdMiddleware:
    """Gives the request its id and client address for its whole duration."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        info = RequestInfo(
            request_id=request_id_for(request),
            client_ip=client_ip_for(request),
            user_agent=request.headers.get("User-Agent", "")[:MAX_USER_AGENT_LENGTH],
        )
        # Also on the request: Django logs each 4xx / 5xx answer
        # ("django.request") after the middleware has returned.
        request.request_id = info.request_id  # type: ignore[attr-defined]
        with in_request(info), sentry_sdk.isolation_scope() as scope:
            # A scope of its own per request, so the tag never outlives it
            # (the test client and ASGI have no per-request scope otherwise).
            scope.set_tag("request_id", info.request_id)
            response = self.get_response(request)
        response[RESPONSE_HEADER] = info.request_id
        return response


def request_id_for(request: HttpRequest) -> str:
    """The trusted header's id when one is configured and usable, else a new
    one. Example: `"4f1c2a..."` (32 hex digits) or the proxy's `"r-1"`."""
    header = settings.REQUEST_ID_HEADER
    given = request.META.get(header, "") if header else ""
    if given and len(given) <= MAX_REQUEST_ID_LENGTH and given.isprintable():
        return str(given)
    return uuid.uuid4().hex


class RequestIdLogFilter(logging.Filter):
    """Adds `request_id` to every log record ("-" outside a request), for a
    format such as `"%(levelname)s [%(request_id)s] %(message)s"`.

    The id comes from the request context, or else from the record's
    `request` (Django's own "Not Found: /x" lines are logged after the
    middleware returned). Attach it to handlers (settings.LOGGING does, for
    the console): a filter on a handler sees records of every logger.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = current_request().request_id or getattr(
            getattr(record, "request", None), "request_id", ""
        )
        record.request_id = request_id or "-"
        return True
