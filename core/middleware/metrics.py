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

Cost: a clock read, two label lookups, a counter increment and a histogram
observation per request (bench/bench_http.py --metrics-cost prices it).
A streaming answer is timed to its headers.
"""

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

from core.metrics.families import (
    HTTP_REQUEST_SECONDS,
    HTTP_REQUESTS,
    UNRESOLVED,
    method_label,
    status_class,
)


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
        method = method_label(request.method)
        HTTP_REQUESTS.labels(route, method, status_class(response.status_code)).inc()
        HTTP_REQUEST_SECONDS.labels(route, method).observe(elapsed)
        return response
