"""Every metric family the project records, with the label values they take.

Labels never carry patient data or any value a caller chooses: each label
takes one of the fixed values below, a route name from the URL
configuration, or a job's dotted path from the code, so the number of
series is bounded by the code, not by traffic (tests/core/metrics/
test_cardinality.py checks it). Counting costs a counter increment: safe on
every hot path.

Families, by what records them:

- HTTP (core/middleware/metrics.py): `lis_http_requests_total` {route,
  method, status} and `lis_http_request_duration_seconds` {route, method}.
  `route` is the URL pattern's name (`core:health-ready`,
  `patients:patient-detail`), UNRESOLVED for a path no pattern matches;
  `status` the class (`2xx` ... `5xx`).
- Instance cache (core/cache/): `lis_cache_lookups_total` {result: hit,
  miss}, `lis_cache_errors_total` (calls that failed: answered from the
  database), `lis_cache_skipped_total` (calls not made: breaker open).
- Fusion (core/fusion/execution.py): `lis_fusion_job_attempts_total` {job,
  outcome: succeeded, retry, dead_letter, superseded} and
  `lis_fusion_job_duration_seconds` {job}.
- Activity log (core/activity_log/shipping.py):
  `lis_activity_log_shipped_entries_total` {result: shipped, failed,
  quarantined}.
- Webhooks (core/webhooks/delivery.py): `lis_webhook_deliveries_total`
  {outcome: succeeded, retry, failed, abandoned, busy, skipped} and
  `lis_webhook_send_duration_seconds` (one attempt's request).
- PDF (core/pdf_sync.py, core/pdf_jobs.py): `lis_pdf_renders_total` {kind:
  sync, batch; outcome: rendered, busy, timed_out, failed} and
  `lis_pdf_render_duration_seconds` {kind}.
- Sign-in (core/auth/throttle.py, core/middleware/api_key.py):
  `lis_sign_in_throttled_total` {credential: password, api_key} and
  `lis_sign_in_unavailable_total` (refused: the counters' store was down).
"""

from prometheus_client import Counter, Histogram, disable_created_metrics

# No `*_created` series: multiprocess mode has none, so single-process mode
# leaves them out too and a dashboard sees the same families in both.
disable_created_metrics()

#: The `route` of a request whose path no URL pattern matches (a 404 before
#: any view, or an answer a middleware gave before resolving).
UNRESOLVED = "unresolved"
#: The `method` of a request whose method is not one of HTTP_METHODS, and
#: the `status` of an answer outside 100..599.
OTHER = "other"
OTHER_METHOD = OTHER
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: Seconds; HTTP answers are mostly milliseconds, a PDF render seconds.
HTTP_BUCKETS_SECONDS = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
JOB_BUCKETS_SECONDS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0)
PDF_BUCKETS_SECONDS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)

# -- HTTP --------------------------------------------------------------------
HTTP_REQUESTS = Counter(
    "lis_http_requests",
    "HTTP requests answered, by URL pattern name, method and status class.",
    ["route", "method", "status"],
)
HTTP_REQUEST_SECONDS = Histogram(
    "lis_http_request_duration_seconds",
    "Time to answer an HTTP request (to its headers), by URL pattern name and method.",
    ["route", "method"],
    buckets=HTTP_BUCKETS_SECONDS,
)

# -- the instance cache --------------------------------------------------------
CACHE_LOOKUPS = Counter(
    "lis_cache_lookups",
    "Instance cache lookups of rows: hit, or miss (read from the database).",
    ["result"],
)
CACHE_ERRORS = Counter(
    "lis_cache_errors",
    "Instance cache calls that failed (the database answered instead).",
)
CACHE_SKIPPED = Counter(
    "lis_cache_skipped",
    "Instance cache calls not made because its circuit breaker was open.",
)

# -- Fusion --------------------------------------------------------------------
JOB_ATTEMPTS = Counter(
    "lis_fusion_job_attempts",
    "Fusion job attempts run by a worker, by job and outcome "
    "(succeeded, retry, dead_letter, superseded: a late finish refused).",
    ["job", "outcome"],
)
JOB_SECONDS = Histogram(
    "lis_fusion_job_duration_seconds",
    "Time one Fusion job attempt ran, by job.",
    ["job"],
    buckets=JOB_BUCKETS_SECONDS,
)

# -- the activity log ----------------------------------------------------------
SHIPPED_ENTRIES = Counter(
    "lis_activity_log_shipped_entries",
    "Activity log entries sent to Elasticsearch: shipped (confirmed), failed "
    "(left for a later run) or quarantined (refused for good).",
    ["result"],
)

# -- webhooks ------------------------------------------------------------------
WEBHOOK_DELIVERIES = Counter(
    "lis_webhook_deliveries",
    "Webhook delivery jobs, by outcome (succeeded, retry, failed, abandoned, "
    "busy, skipped).",
    ["outcome"],
)
WEBHOOK_SEND_SECONDS = Histogram(
    "lis_webhook_send_duration_seconds",
    "Time one webhook request took, answered or not.",
    buckets=HTTP_BUCKETS_SECONDS,
)

# -- PDF -----------------------------------------------------------------------
PDF_RENDERS = Counter(
    "lis_pdf_renders",
    "PDF renders, by kind (sync: POST /core/pdf/; batch: a background job) "
    "and outcome (rendered, busy, timed_out, failed).",
    ["kind", "outcome"],
)
PDF_RENDER_SECONDS = Histogram(
    "lis_pdf_render_duration_seconds",
    "Time a successful PDF render took, by kind.",
    ["kind"],
    buckets=PDF_BUCKETS_SECONDS,
)

# -- sign-in -------------------------------------------------------------------
SIGN_IN_THROTTLED = Counter(
    "lis_sign_in_throttled",
    "Sign-in attempts refused by the throttle, by credential (password, api_key).",
    ["credential"],
)
SIGN_IN_UNAVAILABLE = Counter(
    "lis_sign_in_unavailable",
    "Sign-ins refused because the throttle's counters could not be reached.",
)


def status_class(status_code: int) -> str:
    """`"2xx"` for 200..299, and so on; `"other"` outside 100..599."""
    return STATUS_CLASSES.get(status_code // 100, OTHER)


STATUS_CLASSES = {n: f"{n}xx" for n in range(1, 6)}


def method_label(method: str | None) -> str:
    """The method, or OTHER_METHOD for one outside HTTP_METHODS (a client
    may send any token as its method)."""
    return method if method in HTTP_METHODS else OTHER_METHOD
