"""Settings for every environment, read from the environment.

With no variables set, the project runs on its embedded defaults: SQLite under
`var/` (or `$LIS_DATA_DIR`), DEBUG on, a development secret key generated on
first run. Production sets at least DJANGO_DEBUG=0, DJANGO_SECRET_KEY,
DJANGO_ALLOWED_HOSTS and DATABASE_URL, and behind a TLS-terminating proxy
DJANGO_SECURE_PROXY_SSL_HEADER (see the README's "Running in production").
"""

import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.settings.env import (
    env_bool,
    env_int,
    env_list,
    env_optional_int,
    env_proxy_ssl_header,
    env_str,
)
from config.settings.services import (
    build_services,
    build_storages,
    build_tasks,
    session_engine,
)
from core.utils.files import create_once

BASE_DIR = Path(__file__).resolve().parent.parent.parent
DATA_DIR = Path(env_str("LIS_DATA_DIR", str(BASE_DIR / "var")))
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DJANGO_DEBUG", default=True)


def _secret_key() -> str:
    """DJANGO_SECRET_KEY, or (in DEBUG only) a key generated once into DATA_DIR."""
    configured = env_str("DJANGO_SECRET_KEY", "")
    if configured:
        return configured
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off."
        )
    key_file = DATA_DIR / "development-secret-key"
    if not key_file.exists():  # processes starting together share one key
        create_once(key_file, secrets.token_urlsafe(50))
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else []
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks_db",
    "core",
    "admin.account",
    "patients",
]

MIDDLEWARE = [
    # First: liveness probes are answered here, before anything below can
    # refuse or slow them (core/middleware/liveness.py).
    "core.middleware.liveness.LivenessMiddleware",
    # Then every other request is counted and timed by its route's name,
    # whoever answers it (core/middleware/metrics.py).
    "core.middleware.metrics.MetricsMiddleware",
    # Then every response, even a refusal by a later middleware, carries
    # X-Request-ID, and every log line the request id.
    "core.middleware.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After sessions, before CommonMiddleware (Django's documented order):
    # each user's interface language from Accept-Language or the language
    # cookie, among LANGUAGES. Reports use the lab's language instead.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication, in this order: API keys, then the request's lab
    # (request.scope, re-authorised on every request; may end the session),
    # then the audit of sign-ins and sign-outs by any view, then the actor
    # of activity entries, then JSON errors for API routes (core/middleware/).
    "core.middleware.api_key.ApiKeyMiddleware",
    "core.middleware.lab_context.LabContextMiddleware",
    "core.middleware.sign_in_audit.SignInAuditMiddleware",
    "core.middleware.activity_context.ActivityContextMiddleware",
    "core.middleware.api_errors.ApiErrorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# SQLite by default. IMMEDIATE transactions take the write lock at BEGIN, so two
# writers queue instead of failing with "database is locked" on lock upgrade;
# WAL lets readers (the web server) run beside a writer (the job worker).
_SQLITE_OPTIONS = {
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE_SECONDS", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = _SQLITE_OPTIONS
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "account.User"
# The one gate of password checks (every sign-in path: throttled and
# audited), reading each request's signed-in user from Redis when sessions
# are there (core/auth/backend.py, signed_in_users.py).
AUTHENTICATION_BACKENDS = ["core.auth.backend.SignedInUserBackend"]

_VALIDATORS_MODULE = "django.contrib.auth.password_validation"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"{_VALIDATORS_MODULE}.{name}"}
    for name in (
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    )
]

LANGUAGE_CODE = "en"
# Translations are in each app's locale/ folder (core/locale: report texts,
# core.utils.translation), which Django finds without LOCALE_PATHS.
# The languages a lab can choose for its reports and interface.
LANGUAGES = [("en", "English"), ("ar", "Arabic"), ("hi", "Hindi")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"

# Headers set by a trusted proxy (META names, e.g. "HTTP_X_REQUEST_ID",
# "HTTP_X_FORWARDED_FOR"); empty means the request itself is not trusted.
REQUEST_ID_HEADER = env_str("REQUEST_ID_HEADER", "")
TRUSTED_PROXY_IP_HEADER = env_str("TRUSTED_PROXY_IP_HEADER", "")

# Paths whose errors are answered as JSON (core/middleware/api_errors.py).
API_PATH_PREFIXES = env_list("API_PATH_PREFIXES", ["/core/", "/api/"])

# Health checks (core/view.py): /core/view/live/ is open; /core/view/ready/
# is readable from HEALTH_CHECK_ALLOWED_IPS (addresses or networks, e.g.
# 10.0.0.0/8; the client address as the activity log reads it) or with
# "Authorization: Bearer $HEALTH_CHECK_TOKEN" (unset: no token access; it
# must not start with "lis_", which marks API keys).
# Each check runs within HEALTH_CHECK_TIMEOUT_SECONDS, the whole answer
# within HEALTH_CHECK_DEADLINE_SECONDS. Only the checks in
# HEALTH_CHECK_CRITICAL make readiness fail (503); the others warn. Past the
# thresholds below, the job backlog and log shipping checks warn: the job
# backlog when any one queue has more than HEALTH_CHECK_BACKLOG_MAX_READY_JOBS
# jobs ready to run, or its oldest ready job has waited longer than
# HEALTH_CHECK_BACKLOG_MAX_AGE_SECONDS.
HEALTH_CHECK_TOKEN = env_str("HEALTH_CHECK_TOKEN", "")
HEALTH_CHECK_ALLOWED_IPS = env_list("HEALTH_CHECK_ALLOWED_IPS", ["127.0.0.1", "::1"])
HEALTH_CHECK_TIMEOUT_SECONDS = env_int("HEALTH_CHECK_TIMEOUT_SECONDS", 2)
HEALTH_CHECK_DEADLINE_SECONDS = env_int("HEALTH_CHECK_DEADLINE_SECONDS", 5)
HEALTH_CHECK_CRITICAL = env_list("HEALTH_CHECK_CRITICAL", ["database"])
HEALTH_CHECK_BACKLOG_MAX_AGE_SECONDS = env_int(
    "HEALTH_CHECK_BACKLOG_MAX_AGE_SECONDS", 300
)
HEALTH_CHECK_BACKLOG_MAX_READY_JOBS = env_int(
    "HEALTH_CHECK_BACKLOG_MAX_READY_JOBS", 1000
)
HEALTH_CHECK_SHIPPING_MAX_LAG_SECONDS = env_int(
    "HEALTH_CHECK_SHIPPING_MAX_LAG_SECONDS", 900
)
HEALTH_CHECK_DOCDB_MAX_ACCOUNTS = env_int("HEALTH_CHECK_DOCDB_MAX_ACCOUNTS", 20)

# Service clients for core.utils.clients.get_client; see config/settings/services.py.
SERVICES = build_services(DATA_DIR)
# Per-account clients (docdb) kept per process and service; the least
# recently used is closed beyond this (core/utils/clients.py).
SERVICE_ACCOUNT_CLIENTS_MAX = env_int("SERVICE_ACCOUNT_CLIENTS_MAX", 32)
# Services production chooses to run on a local or log-only stand-in (the
# embedded default's backends: e.g. "docdb,es" keeps integration logs in
# the database and runs without Elasticsearch). With DEBUG off, any other
# stand-in fails `manage.py check` (core.E040) and degrades readiness.
LOCAL_SERVICES = env_list("LIS_LOCAL_SERVICES", [])

# Sessions live in the cache service's Redis (or Redis Cluster) when its
# storage declares one (core/auth/sessions.py), else in the database.
# Cookies are HttpOnly and SameSite=Lax always, Secure when DEBUG is off.
SESSION_ENGINE = session_engine(SERVICES["cache"])
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", default=not DEBUG)
CSRF_FAILURE_VIEW = "core.auth.views.csrf_failure"

# HTTPS (SecurityMiddleware). Without DEBUG, plain HTTP is redirected to
# HTTPS and HTTPS answers carry HSTS for a year (subdomains and preloading
# only when asked: they bind the whole domain); in DEBUG neither, so
# runserver works over http://. Behind a TLS-terminating proxy,
# DJANGO_SECURE_PROXY_SSL_HEADER (e.g. HTTP_X_FORWARDED_PROTO,https) names
# the header the proxy sets, overwriting the client's, to say the client
# used HTTPS: without it every request looks plain, and is redirected again
# and again (`check --deploy` says so, core.W030). Readiness is probed over
# plain HTTP from inside the cluster: redirected, a kubelet would count the
# 301 to another host as ready without asking, so it is exempt, and so is
# /core/view/, the same report under the seed's path (liveness is
# answered before this middleware, core/middleware/liveness.py).
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [
    r"^core/view/$",
    r"^core/view/ready/$",
    # Scraped by Prometheus from inside the cluster, like readiness.
    r"^core/view/metrics/$",
]
SECURE_HSTS_SECONDS = env_int(
    "DJANGO_SECURE_HSTS_SECONDS", 0 if DEBUG else 365 * 24 * 60 * 60
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool(
    "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False
)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
SECURE_PROXY_SSL_HEADER = env_proxy_ssl_header("DJANGO_SECURE_PROXY_SSL_HEADER")
# Other origins (https://host[:port]) whose POSTs pass the CSRF check, e.g.
# a front end served from another host.
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

# Sign-in attempts (core/auth/throttle.py, for every sign-in path):
# past these many failed attempts for one username, or from one address (a
# whole lab can share one behind NAT), within the window, attempts get 429
# until the window ends. Counted before the password is checked, in Redis
# or (without Redis) in the database.
LOGIN_FAILURE_LIMIT_PER_ACCOUNT = env_int("LOGIN_FAILURE_LIMIT_PER_ACCOUNT", 5)
LOGIN_FAILURE_LIMIT_PER_IP = env_int("LOGIN_FAILURE_LIMIT_PER_IP", 50)
LOGIN_FAILURE_WINDOW_SECONDS = env_int("LOGIN_FAILURE_WINDOW_SECONDS", 15 * 60)
# Rate limits (core.decorators.rate_limit) while Redis is down: allow (True,
# fail open) or answer 503 (False, fail closed); a view may choose itself.
RATE_LIMIT_FAIL_OPEN = env_bool("RATE_LIMIT_FAIL_OPEN", default=True)

# The Fusion job queue (Django's Tasks framework): the database engine, or
# Celery on RabbitMQ with FUSION_ENGINE=celery; see build_tasks().
TASKS = build_tasks()

# Jobs run at cron times, each slot exactly once across all workers
# (docs/jobs.md, "Schedules"): name -> {"task", "cron", "tz", "catch_up",
# "queue"}; domain apps add theirs. A slot seen
# more than FUSION_SCHEDULE_GRACE_SECONDS after it fired is "missed" and
# follows its schedule's catch_up policy.
FUSION_SCHEDULES: dict[str, dict[str, str]] = {}
FUSION_SCHEDULE_GRACE_SECONDS = env_int("FUSION_SCHEDULE_GRACE_SECONDS", 300)
# Slot rows (what ran when) are kept this many days; the newest of each
# schedule and lab always.
FUSION_SCHEDULE_RETENTION_DAYS = env_int("FUSION_SCHEDULE_RETENTION_DAYS", 90)

# Run by every Fusion worker's maintenance round: seal the activity log's
# hash chains, and ship entries to Elasticsearch when one is configured.
# Each is idempotent and does what is pending whenever it runs, so every
# worker runs them (no single point of failure), unlike schedules.
FUSION_PERIODIC_TASKS = [
    "core.activity_log.chain.seal_all",
    "core.activity_log.checkpoints.checkpoint_due",
    "core.activity_log.shipping.ship_pending",
    "core.ratelimit.counters.prune_expired_counters",
]

# Activity log retention (core/activity_log/retention.py). Audit
# records are kept for ACTIVITY_LOG_RETENTION_YEARS (Elasticsearch's monthly
# activity-* indices must be kept that long; nothing here deletes one). The
# database keeps every entry unless ACTIVITY_LOG_DB_RETENTION_DAYS is set:
# then `manage.py prune_activity_logs` removes sealed entries that
# Elasticsearch confirmed and that are older than that many days.
ACTIVITY_LOG_RETENTION_YEARS = env_int("ACTIVITY_LOG_RETENTION_YEARS", 10)
ACTIVITY_LOG_DB_RETENTION_DAYS = env_optional_int("ACTIVITY_LOG_DB_RETENTION_DAYS")

# Signed checkpoints of each chain's head (core/activity_log/checkpoints.py,
# docs/audit-checkpoints.md). The Ed25519 private key is never stored in the
# database: the PEM itself (ACTIVITY_LOG_SIGNING_KEY, "\n" escapes allowed)
# or a file (ACTIVITY_LOG_SIGNING_KEY_FILE). Required with DEBUG off
# (core.E050). ACTIVITY_LOG_VERIFY_KEY(_FILE): the public key, on hosts that
# only verify. ACTIVITY_LOG_RETIRED_VERIFY_KEYS(_FILE): the public keys of
# earlier signing keys, so checkpoints signed before a rotation still verify.
# Any key may also be the base64 of its 32 raw bytes. Checkpoints are locked
# in S3 (Object Lock, when the bucket has it) for
# ACTIVITY_LOG_CHECKPOINT_RETENTION_DAYS, in the lock mode given.
ACTIVITY_LOG_SIGNING_KEY = env_str("ACTIVITY_LOG_SIGNING_KEY", "")
ACTIVITY_LOG_SIGNING_KEY_FILE = env_str("ACTIVITY_LOG_SIGNING_KEY_FILE", "")
ACTIVITY_LOG_VERIFY_KEY = env_str("ACTIVITY_LOG_VERIFY_KEY", "")
ACTIVITY_LOG_VERIFY_KEY_FILE = env_str("ACTIVITY_LOG_VERIFY_KEY_FILE", "")
ACTIVITY_LOG_RETIRED_VERIFY_KEYS = env_str("ACTIVITY_LOG_RETIRED_VERIFY_KEYS", "")
ACTIVITY_LOG_RETIRED_VERIFY_KEYS_FILE = env_str(
    "ACTIVITY_LOG_RETIRED_VERIFY_KEYS_FILE", ""
)
# A chain's links sealed since its last checkpoint are vouched for by the
# database alone: a cut tail or a rewrite there is not seen. At most this many
# seconds of a busy chain (plus one maintenance round) are in that window; a
# chain idle for longer is signed in the first round after it moves.
ACTIVITY_LOG_CHECKPOINT_INTERVAL_SECONDS = env_int(
    "ACTIVITY_LOG_CHECKPOINT_INTERVAL_SECONDS", 300
)
ACTIVITY_LOG_CHECKPOINT_RETENTION_DAYS = env_int(
    "ACTIVITY_LOG_CHECKPOINT_RETENTION_DAYS", 366 * ACTIVITY_LOG_RETENTION_YEARS
)
ACTIVITY_LOG_CHECKPOINT_LOCK_MODE = env_str(
    "ACTIVITY_LOG_CHECKPOINT_LOCK_MODE", "COMPLIANCE"
)

# Django's file storage follows the s3 service: S3 (django-storages) when
# S3_BUCKET is set, FileSystemStorage under DATA_DIR/files otherwise.
STORAGES = build_storages(SERVICES["s3"])

# The folder uploaded files are kept in when they are stored locally (none
# with S3). PDF reports may embed files from it (core/utils/pdf/fetcher.py).
MEDIA_ROOT = SERVICES["s3"]["OPTIONS"].get("base_dir", "")

# PDF reports (core/utils/pdf/): the largest HTML rendered, in bytes (logos
# and signatures embedded as data: URIs count), and the most pages laid out.
# A report over either is refused with an error that says which.
PDF_MAX_HTML_BYTES = env_int("PDF_MAX_HTML_BYTES", 5_000_000)
PDF_MAX_PAGES = env_int("PDF_MAX_PAGES", 200)
# What a report may hold, per page of its own limit (its max_pages, else
# PDF_MAX_PAGES), checked before rendering (core/utils/pdf/limits.py): the
# values of its JSON context (list items and object members) and the
# elements of its HTML; and how deeply the context may nest.
PDF_MAX_CONTEXT_VALUES_PER_PAGE = env_int("PDF_MAX_CONTEXT_VALUES_PER_PAGE", 500)
PDF_MAX_HTML_ELEMENTS_PER_PAGE = env_int("PDF_MAX_HTML_ELEMENTS_PER_PAGE", 500)
PDF_MAX_CONTEXT_DEPTH = env_int("PDF_MAX_CONTEXT_DEPTH", 10)

# The sample app's report release (patients/release.py): the Slack channel
# told when a released report has a critical value.
REPORT_CRITICAL_SLACK_CHANNEL = env_str(
    "REPORT_CRITICAL_SLACK_CHANNEL", "#critical-results"
)

# POST /core/pdf/ (core/pdf_view.py): the largest request body, in bytes
# (refused with 413 before it is read; keep it below Django's
# DATA_UPLOAD_MAX_MEMORY_SIZE, 2.5 MB); a single report whose body is over
# PDF_SYNC_MAX_REQUEST_BYTES is rendered by a Fusion job instead of in the
# request; the most stored PDFs one merge reads and reports one batch holds;
# and the requests each lab may make per window: 2 a second on average, in
# bursts of at most 20 (a 120-per-minute window let one lab's 120 refused
# 180 KB reports arrive at once, and other labs' p99 grew 5x for that
# second: bench/bench_pdf_load.py). Many reports at once belong in a batch.
PDF_MAX_REQUEST_BYTES = env_int("PDF_MAX_REQUEST_BYTES", 1_000_000)
PDF_SYNC_MAX_REQUEST_BYTES = env_int("PDF_SYNC_MAX_REQUEST_BYTES", 200_000)
PDF_MAX_MERGE_FILES = env_int("PDF_MAX_MERGE_FILES", 20)
PDF_MAX_BATCH_REPORTS = env_int("PDF_MAX_BATCH_REPORTS", 50)
PDF_RATE_LIMIT_PER_LAB = env_int("PDF_RATE_LIMIT_PER_LAB", 20)
PDF_RATE_LIMIT_WINDOW_SECONDS = env_int("PDF_RATE_LIMIT_WINDOW_SECONDS", 10)
# Its synchronous renders (core/pdf_sync.py): at most PDF_RENDER_SLOTS_PER_LAB
# per lab and PDF_RENDER_SLOTS_TOTAL in all at once (across processes through
# the cache's Redis; per process without it), each in a forked process
# PDF_RENDER_NICE steps lower in CPU priority (and, on Linux with
# PDF_RENDER_SCHED_IDLE, only on CPU time nothing else wants), killed after
# PDF_RENDER_TIME_LIMIT_SECONDS.
PDF_RENDER_SLOTS_PER_LAB = env_int("PDF_RENDER_SLOTS_PER_LAB", 2)
PDF_RENDER_SLOTS_TOTAL = env_int("PDF_RENDER_SLOTS_TOTAL", 4)
PDF_RENDER_TIME_LIMIT_SECONDS = env_int("PDF_RENDER_TIME_LIMIT_SECONDS", 30)
PDF_RENDER_NICE = env_int("PDF_RENDER_NICE", 19)
PDF_RENDER_SCHED_IDLE = env_bool("PDF_RENDER_SCHED_IDLE", True)

# Patient-data encryption (core/utils/encryption.py). LIS_ENCRYPTION_KEYS:
# "key_id:base64key" entries (32-byte AES-256 keys), comma-separated, newest
# last: the newest encrypts, all decrypt. LIS_BLIND_INDEX_KEY: a separate
# base64 key (32+ bytes) for lookup hashes. With neither set, DEBUG generates
# development keys into the file below on first use; with DEBUG off there is
# no such file, `manage.py check` reports an error and encrypted fields refuse
# to work until both are set.
ENCRYPTION_KEYS = env_str("LIS_ENCRYPTION_KEYS", "")
BLIND_INDEX_KEY = env_str("LIS_BLIND_INDEX_KEY", "")
# Lookups also match blind indexes written before they were per lab (global,
# linkable across labs) until `manage.py reindex_blind_indexes --dry-run`
# reports none left; then set LIS_BLIND_INDEX_LEGACY_LOOKUPS=off.
BLIND_INDEX_LEGACY_LOOKUPS = env_bool("LIS_BLIND_INDEX_LEGACY_LOOKUPS", True)
ENCRYPTION_DEVELOPMENT_KEY_FILE = (
    DATA_DIR / "development-encryption-keys" if DEBUG else None
)

# Webhooks (core/webhooks/): labs subscribe URLs to event types.
# Receivers on loopback, RFC 1918, shared or unique-local addresses are
# refused unless WEBHOOK_ALLOW_PRIVATE_ADDRESSES (default: on only with DEBUG,
# for a receiver on the developer's machine); cloud metadata, link-local
# and other special addresses always are (core/utils/webhooks/addresses.py).
# Each connection and read waits WEBHOOK_TIMEOUT_SECONDS (at most 20). A
# failed attempt (no answer, 408, 429, 5xx) is retried after the next of
# WEBHOOK_RETRY_DELAYS_SECONDS (the last repeats), up to WEBHOOK_MAX_ATTEMPTS
# attempts: by default 7 over about 17.6 hours. After
# WEBHOOK_DISABLE_AFTER_FAILURES deliveries in a row fail for good, the
# endpoint is disabled and WEBHOOK_ALERT_SLACK_CHANNEL told ("" for none).
# A rotated-out secret still signs for WEBHOOK_SECRET_OVERLAP_HOURS.
# WEBHOOK_CA_FILE: a PEM bundle replacing the system's CAs for https receivers.
# `manage.py prune_webhooks` (daily, from cron) removes events, deliveries and
# attempts older than WEBHOOK_HISTORY_DAYS once none is pending or recent.
WEBHOOK_HISTORY_DAYS = env_int("WEBHOOK_HISTORY_DAYS", 90)
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env_bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", DEBUG)
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10)
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 7)


def _seconds_list(name: str, default: list[float]) -> list[float]:
    """A comma-separated list of seconds (>= 0); `default` when unset."""
    raw = env_list(name, [str(step) for step in default])
    try:
        steps = [float(item) for item in raw]
    except ValueError:
        steps = []
    if not steps or min(steps) < 0:
        raise ImproperlyConfigured(
            f"{name}={','.join(raw)!r} is not a list of seconds (>= 0), "
            "e.g. 5,300,1800."
        )
    return steps


WEBHOOK_RETRY_DELAYS_SECONDS = _seconds_list(
    "WEBHOOK_RETRY_DELAYS_SECONDS", [5, 300, 1800, 7200, 18000, 36000]
)
WEBHOOK_DISABLE_AFTER_FAILURES = env_int("WEBHOOK_DISABLE_AFTER_FAILURES", 5)
WEBHOOK_ALERT_SLACK_CHANNEL = env_str("WEBHOOK_ALERT_SLACK_CHANNEL", "#lab-alerts")
WEBHOOK_SECRET_OVERLAP_HOURS = env_int("WEBHOOK_SECRET_OVERLAP_HOURS", 24)
WEBHOOK_CA_FILE = env_str("WEBHOOK_CA_FILE", "")

# Errors to Sentry (core/utils/sentry/), only when SENTRY_DSN is set; patient
# data is scrubbed before sending. The sample rate is 0..1, checked at start.
SENTRY_DSN = env_str("SENTRY_DSN", "")
SENTRY_ENVIRONMENT = env_str(
    "SENTRY_ENVIRONMENT", "development" if DEBUG else "production"
)
SENTRY_TRACES_SAMPLE_RATE = env_str("SENTRY_TRACES_SAMPLE_RATE", "0")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Each line carries its request's id ("-" outside requests), the one in
    # the X-Request-ID answer header, activity entries and Sentry events.
    "filters": {
        "request_id": {"()": "core.middleware.request_id.RequestIdLogFilter"},
    },
    "formatters": {
        "plain": {
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # WeasyPrint logs its CSS parsing at INFO when imported (core.urls imports
    # the PDF view, so every process would start with those lines) and each
    # page it lays out; its warnings (a missing font, ...) still show.
    # pikepdf (core/utils/pdf/text_map.py) logs a line at INFO when imported.
    "loggers": {
        "weasyprint": {"level": "WARNING"},
        "pikepdf": {"level": "WARNING"},
    },
}
