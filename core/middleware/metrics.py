"""HTTP metrics: every request counted and timed by its route's name.

`MetricsMiddleware` sits right after the liveness shortcut (probes are not
counted), so it times the whole stack and sees the answer of any later
middleware, error pages included. Labels (core/metrics/families.py):

- `route`: `request.resolver_match.view_name`, the URL pattern's name
  (`patients:patient-detail`), never the path: a path carries ids, and
  labels must not grow with traffic or carry patient data. A request that
  no pattern matched, or that a middleware answered before the URL was
  resolved (a refused host, a redirect to HTTPS), is UNRESOLVED.
- `method`: one of the usual HTTP methods, else `other`.
- `status`: the class, `2xx` ... `5xx`.

Cost: two clock reads, one dict lookup, a counter increment and a histogram
observation per request: the labelled children are looked up once per
(route, method, status) and kept, since prometheus_client's `.labels()`
validates and locks on every call (about 40% of the cost). The dict is
bounded as the labels are: routes x methods x status classes.
bench/bench_http.py --metrics-cost prices it. A streaming answer is timed
to its headers.
"""

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase
from prometheus_client import Counter, Histogram

from core.metrics.families import (
    HTTP_REQUEST_SECONDS,
    HTTP_REQUESTS,
    UNRESOLVED,
    method_label,
    status_class,
)

#: (route, method, status class) -> that request kind's counter and
#: histogram children. Shared by every middleware instance of the process:
#: a whole test run builds many, and the children are the registry's anyway.
_CHILDREN: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}


def _children(route: str, method: str, status: str) -> tuple[Counter, Histogram]:
    """The labelled children for one kind of request, made on first use.
    Two threads may make the same pair at once: `.labels()` returns the
    same child to both, so the race is harmless."""
    key = (route, method, status)
    children = _CHILDREN.get(key)
    if children is None:
        children = _CHILDREN[key] = (
            HTTP_REQUESTS.labels(route, method, status),
            HTTP_REQUEST_SECONDS.labels(route, method),
        )
    return children


class MetricsMiddleware:
    """Counts and times each request; see the module docstring."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        match = request.resolver_match
        route = UNRESOLVED if match is None else match.view_name
        requests, seconds = _children(
            route, method_label(request.method), status_class(response.status_code)
        )
        requests.inc()
        seconds.observe(elapsed)
        return response
