"""Sets who is acting, for the activity log.

Runs after AuthenticationMiddleware and ApiKeyMiddleware; the request part
(id, client IP, user agent) is set earlier by `RequestIdMiddleware`
(core/middleware/request_id.py). A request with an API key acts as the key
(`ActorKind.API_KEY`, id `api_key:<pk>`); a signed-in user acts as
themselves; anything else leaves the system actor.
"""

from collections.abc import Callable
from contextlib import ExitStack

from django.http import HttpRequest, HttpResponse

from core.utils.activity_log.context import (
    Actor,
    acting_as,
    actor_for_api_key,
    actor_for_user,
)


class ActivityContextMiddleware:
    """Wraps each request with an actor in `acting_as(...)`, so every activity
    entry written during it says who."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with ExitStack() as stack:
            actor = request_actor(request)
            if actor is not None:
                stack.enter_context(acting_as(actor))
            return self.get_response(request)


def request_actor(request: HttpRequest) -> Actor | None:
    """The request's API key or signed-in user as an Actor; None for neither."""
    api_key = getattr(request, "api_key", None)
    if api_key is not None:
        return actor_for_api_key(api_key)
    if not request.user.is_authenticated:
        return None
    return actor_for_user(request.user)
