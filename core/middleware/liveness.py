"""Liveness probes answered ahead of the middleware stack.

A liveness answer says one thing: this process serves requests. It needs no
session, user, lab, CSRF, language or request id, and must not fail because
of them, so `LivenessMiddleware`, first in settings.MIDDLEWARE, hands
/core/view/live/ straight to `LivenessView`: probes cost the process almost
nothing, and an orchestrator asking by the pod's address over plain HTTP is
neither redirected to HTTPS nor refused by the ALLOWED_HOSTS check of a
later middleware. It is the one answer without X-Request-ID: nothing is
logged for it, so there is nothing to find by one.

Every other path, readiness included, goes through the whole stack.
"""

from collections.abc import Callable
from functools import cached_property

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls import NoReverseMatch, reverse

from core.view import LivenessView


class LivenessMiddleware:
    """Answers GET/HEAD of the liveness URL itself; passes everything else on."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.view = LivenessView.as_view()

    @cached_property
    def path(self) -> str | None:
        """The liveness URL's path, read on first use (the URLconf may not be
        loadable while the middleware chain is built); None under a URLconf
        without core's URLs, which then passes every request on."""
        try:
            return reverse("core:health-live")
        except NoReverseMatch:
            return None

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.path_info == self.path and request.method in ("GET", "HEAD"):
            return self.view(request)  # other methods get the stack's JSON 405
        return self.get_response(request)
