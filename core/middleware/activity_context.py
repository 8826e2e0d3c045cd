"""Sets who is acting and where the request came from, for the activity log.

Runs after Django's AuthenticationMiddleware. The request id is taken from
the header named by settings.REQUEST_ID_HEADER when one is configured (a
trusted proxy sets it), else generated; it is returned in `X-Request-ID`.
The client IP is REMOTE_ADDR, or the first address of the header named by
settings.TRUSTED_PROXY_IP_HEADER when configured (only behind a proxy that
overwrites it: otherwise any client could claim any address).
"""

import uuid
from collections.abc import Callable
from contextlib import ExitStack

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from core.utils.activity_log.context import (
    Actor,
    ActorKind,
    RequestInfo,
    acting_as,
    in_request,
)

#: Longest request id accepted from a header; longer ones are replaced.
MAX_REQUEST_ID_LENGTH = 64


class ActivityContextMiddleware:
    """Wraps each request in `in_request(...)` and, when someone is signed
    in, `acting_as(...)`, so every activity entry written during it says who
    and where."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        info = RequestInfo(
            request_id=_request_id(request),
            client_ip=_client_ip(request),
            user_agent=request.headers.get("User-Agent", "")[:300],
        )
        with ExitStack() as stack:
            stack.enter_context(in_request(info))
            actor = _actor(request)
            if actor is not None:
                stack.enter_context(acting_as(actor))
            response = self.get_response(request)
        response["X-Request-ID"] = info.request_id
        return response


def _request_id(request: HttpRequest) -> str:
    header = getattr(settings, "REQUEST_ID_HEADER", "")
    given = request.META.get(header, "") if header else ""
    if given and len(given) <= MAX_REQUEST_ID_LENGTH and given.isprintable():
        return str(given)
    return uuid.uuid4().hex


def _client_ip(request: HttpRequest) -> str | None:
    header = getattr(settings, "TRUSTED_PROXY_IP_HEADER", "")
    forwarded = request.META.get(header, "") if header else ""
    if forwarded:
        return str(forwarded.split(",")[0].strip()) or None
    return request.META.get("REMOTE_ADDR") or None


def _actor(request: HttpRequest) -> Actor | None:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    kind = (
        ActorKind.DOCTOR if getattr(user, "kind", "") == "doctor" else ActorKind.STAFF
    )
    role = "superuser" if user.is_superuser else str(getattr(user, "kind", ""))
    return Actor(
        id=str(user.pk),
        name=user.get_full_name() or user.get_username(),
        role=role,
        kind=kind,
    )
