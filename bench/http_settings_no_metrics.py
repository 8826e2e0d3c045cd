"""bench/bench_http.py --metrics-cost: the core stack's settings
(bench.http_settings) without MetricsMiddleware, to price it."""

from bench.http_settings import *  # noqa: F403

MIDDLEWARE = [
    name
    for name in MIDDLEWARE  # noqa: F405
    if name != "core.middleware.metrics.MetricsMiddleware"
]
