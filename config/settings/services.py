"""settings.SERVICES: which client class serves each service, with its options.

Read by `core.utils.clients.get_client`. Each service has an embedded default
that needs no server, and a real backend chosen when its environment
variables are set. One section per service; adding a service adds a section
and an entry in SERVICES at the end.
"""

from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from config.settings.env import env_bool, env_int, env_list, env_str
from core.utils.capabilities import Capability


def build_services(data_dir: Path) -> dict[str, dict[str, Any]]:
    """The SERVICES setting, from the environment."""
    return {
        "fusion": _fusion(),
        "s3": _s3(data_dir),
        "slack": _slack(),
        "pusher": _pusher(),
        "es": _elastic_search(),
        "docdb": _docdb(),
        "cache": _cache(),
    }


# -- fusion -------------------------------------------------------------------
def _fusion() -> dict[str, Any]:
    """The job queue's client; the engine itself is chosen by settings.TASKS
    (`build_tasks()`). FUSION_TASK_BACKEND: the TASKS alias it reports on."""
    return {
        "BACKEND": "core.fusion.client.FusionClient",
        "OPTIONS": {"backend": env_str("FUSION_TASK_BACKEND", "default")},
    }


FUSION_ENGINES = {
    "database": "core.fusion.db_backend.FusionDatabaseBackend",
    "celery": "core.fusion.broker_backend.FusionCeleryBackend",
}
FUSION_DEFAULT_BROKER_URL = "amqp://guest:guest@127.0.0.1:5672//"
#: FUSION_* variables holding seconds, and the engine option each sets.
_FUSION_SECONDS = {
    "FUSION_RECOVERY_GRACE_SECONDS": "recovery_grace_seconds",
    "FUSION_HARD_LIMIT_GRACE_SECONDS": "hard_limit_grace_seconds",
    "FUSION_MAINTENANCE_INTERVAL_SECONDS": "maintenance_interval_seconds",
    "FUSION_HEARTBEAT_SECONDS": "heartbeat_seconds",
    "FUSION_HEARTBEAT_STALE_SECONDS": "heartbeat_stale_seconds",
    "FUSION_POLL_INTERVAL_SECONDS": "poll_interval_seconds",
    "FUSION_RESULT_RETENTION_SECONDS": "result_retention_seconds",
    "FUSION_PUBLISH_TIMEOUT_SECONDS": "publish_timeout_seconds",
    "FUSION_RELAY_GRACE_SECONDS": "relay_grace_seconds",
    "FUSION_REPUBLISH_AFTER_SECONDS": "republish_after_seconds",
}


def build_tasks() -> dict[str, dict[str, Any]]:
    """settings.TASKS (Django's Tasks framework): the Fusion engine.

    FUSION_ENGINE=database (the embedded default: jobs in the database, run
    by `manage.py fusion_worker`) or celery (Celery on RabbitMQ at
    FUSION_BROKER_URL); unset, it is celery exactly when FUSION_BROKER_URL
    is set. FUSION_QUEUES lists the queue names jobs may use;
    FUSION_QUEUE_PREFIX prefixes broker queue names; FUSION_*_SECONDS tune
    recovery and timing, FUSION_CLAIM_BATCH_SIZE the database worker's batch
    claims (see core.utils.fusion.options.EngineOptions).
    """
    broker_url = env_str("FUSION_BROKER_URL", "")
    options: dict[str, Any] = {
        option: _env_seconds(name) for name, option in _FUSION_SECONDS.items()
    }
    if env_str("FUSION_CLAIM_BATCH_SIZE", ""):
        options["claim_batch_size"] = env_int("FUSION_CLAIM_BATCH_SIZE", 10)
    return fusion_tasks_setting(
        env_str("FUSION_ENGINE", "celery" if broker_url else "database"),
        queues=env_list("FUSION_QUEUES", ["default"]),
        broker_url=broker_url or FUSION_DEFAULT_BROKER_URL,
        queue_prefix=env_str("FUSION_QUEUE_PREFIX", "fusion."),
        **{k: v for k, v in options.items() if v is not None},
    )


def fusion_tasks_setting(
    engine: str, *, queues: list[str], broker_url: str = "", **options: Any
) -> dict[str, dict[str, Any]]:
    """The TASKS value for `engine` ("database" or "celery"); tests and
    benchmarks call it to build the same setting a worker builds from env."""
    if engine not in FUSION_ENGINES:
        raise ImproperlyConfigured(
            f"FUSION_ENGINE={engine!r} is not an engine; use one of: "
            f"{', '.join(FUSION_ENGINES)}."
        )
    if engine == "celery":
        options["broker_url"] = broker_url or FUSION_DEFAULT_BROKER_URL
    else:
        options.pop("queue_prefix", None)
    return {
        "default": {
            "BACKEND": FUSION_ENGINES[engine],
            "QUEUES": queues,
            "OPTIONS": options,
        }
    }


def _env_seconds(name: str) -> float | None:
    raw = env_str(name, "")
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value < 0:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number of seconds (>= 0).")
    return value


# -- s3 (files) ---------------------------------------------------------------
def _s3(data_dir: Path) -> dict[str, Any]:
    """Files: S3 when S3_BUCKET is set, else a folder, DATA_DIR/files.

    S3_ENDPOINT_URL points at an S3-compatible server (MinIO, moto);
    S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY are optional (boto3's own chain,
    e.g. an IAM role, applies without them).
    """
    bucket = env_str("S3_BUCKET", "")
    if not bucket:
        return {
            "BACKEND": "core.utils.aws.client.LocalFileS3Client",
            "OPTIONS": {"base_dir": str(data_dir / "files")},
        }
    return {
        "BACKEND": "core.utils.aws.client.S3Client",
        "OPTIONS": {
            "bucket": bucket,
            "region": env_str("S3_REGION", "us-east-1"),
            "endpoint_url": env_str("S3_ENDPOINT_URL", "") or None,
            "access_key_id": env_str("S3_ACCESS_KEY_ID", "") or None,
            "secret_access_key": env_str("S3_SECRET_ACCESS_KEY", "") or None,
            "addressing_style": env_str("S3_ADDRESSING_STYLE", "auto"),
            "connect_timeout_seconds": env_int("S3_CONNECT_TIMEOUT_SECONDS", 3),
            "read_timeout_seconds": env_int("S3_READ_TIMEOUT_SECONDS", 10),
            "max_attempts": env_int("S3_MAX_ATTEMPTS", 3),
            "max_pool_connections": env_int("S3_MAX_POOL_CONNECTIONS", 20),
        },
    }


def build_storages(s3: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """settings.STORAGES: Django's default file storage follows the s3 service
    (the same bucket, or the same folder), so a FileField and
    `get_client("s3")` see the same files."""
    options = s3["OPTIONS"]
    if s3["BACKEND"] == "core.utils.aws.client.S3Client":
        default: dict[str, Any] = {
            "BACKEND": "core.utils.aws.storage.S3FileStorage",
            "OPTIONS": {
                "bucket_name": options["bucket"],
                "region_name": options["region"],
                "endpoint_url": options["endpoint_url"],
                "access_key": options["access_key_id"],
                "secret_key": options["secret_access_key"],
                "addressing_style": options["addressing_style"],
                # As FileSystemStorage does: a taken name gets a new one.
                "file_overwrite": False,
                **{
                    name: options[name]
                    for name in (
                        "connect_timeout_seconds",
                        "read_timeout_seconds",
                        "max_attempts",
                        "max_pool_connections",
                    )
                },
            },
        }
    else:
        default = {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": options["base_dir"]},
        }
    return {
        "default": default,
        "staticfiles": {
            "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        },
    }


# -- slack --------------------------------------------------------------------
def _slack() -> dict[str, Any]:
    """Slack: the Web API when SLACK_BOT_TOKEN is set, else an incoming
    webhook when SLACK_WEBHOOK_URL is set, else a backend that only logs.

    SLACK_API_URL replaces https://slack.com/api/ (a proxy, or a test stand-in).
    """
    token = env_str("SLACK_BOT_TOKEN", "")
    webhook_url = env_str("SLACK_WEBHOOK_URL", "")
    if not (token or webhook_url):
        return {"BACKEND": "core.utils.slack.client.LogSlackClient", "OPTIONS": {}}
    return {
        "BACKEND": "core.utils.slack.client.SlackClient",
        "OPTIONS": {
            "token": token or None,
            "webhook_url": webhook_url or None,
            "base_url": env_str("SLACK_API_URL", "https://slack.com/api/"),
            "timeout_seconds": env_int("SLACK_TIMEOUT_SECONDS", 5),
            "max_rate_limit_retries": env_int("SLACK_RATE_LIMIT_RETRIES", 2),
            "max_rate_limit_wait_seconds": env_int(
                "SLACK_RATE_LIMIT_MAX_WAIT_SECONDS", 10
            ),
        },
    }


# -- pusher -------------------------------------------------------------------
def _pusher() -> dict[str, Any]:
    """Pusher Channels when PUSHER_APP_ID, PUSHER_KEY and PUSHER_SECRET are
    set, else a backend that only logs.

    PUSHER_CLUSTER (e.g. "eu") picks Pusher's host; PUSHER_HOST, PUSHER_PORT
    and PUSHER_SSL point elsewhere (a self-hosted compatible server).
    """
    app_id = env_str("PUSHER_APP_ID", "")
    key = env_str("PUSHER_KEY", "")
    secret = env_str("PUSHER_SECRET", "")
    if not (app_id and key and secret):
        return {"BACKEND": "core.utils.pusher.client.LogPusherClient", "OPTIONS": {}}
    return {
        "BACKEND": "core.utils.pusher.client.PusherClient",
        "OPTIONS": {
            "app_id": app_id,
            "key": key,
            "secret": secret,
            "cluster": env_str("PUSHER_CLUSTER", "") or None,
            "host": env_str("PUSHER_HOST", "") or None,
            "port": env_int("PUSHER_PORT", 0) or None,
            "ssl": env_bool("PUSHER_SSL", default=True),
            "timeout_seconds": env_int("PUSHER_TIMEOUT_SECONDS", 5),
        },
    }


# -- es (search; the activity log's store) ------------------------------------
def _elastic_search() -> dict[str, Any]:
    """Elasticsearch 9 when ES_URLS (comma-separated) or ES_URL is set, else
    the null client (NullSearchClient: stores nothing, says it is off; the
    activity log then reads its own table).

    Credentials: ES_API_KEY, or ES_USERNAME with ES_PASSWORD. ES_CA_CERTS is
    a CA bundle file for https clusters with a private CA.
    """
    hosts = env_list("ES_URLS", []) or env_list("ES_URL", [])
    if not hosts:
        return {
            "BACKEND": "core.utils.elastic_search.null.NullSearchClient",
            "OPTIONS": {},
        }
    username = env_str("ES_USERNAME", "")
    if bool(username) != bool(env_str("ES_PASSWORD", "")):
        raise ImproperlyConfigured(
            "ES_USERNAME and ES_PASSWORD go together: set both, or neither "
            "(and ES_API_KEY instead)."
        )
    return {
        "BACKEND": "core.utils.elastic_search.client.ElasticSearchClient",
        "OPTIONS": {
            "hosts": hosts,
            "username": username or None,
            "password": env_str("ES_PASSWORD", "") or None,
            "api_key": env_str("ES_API_KEY", "") or None,
            "request_timeout_seconds": env_int("ES_REQUEST_TIMEOUT_SECONDS", 10),
            "max_retries": env_int("ES_MAX_RETRIES", 3),
            "retry_on_timeout": env_bool("ES_RETRY_ON_TIMEOUT", default=True),
            "http_compress": env_bool("ES_HTTP_COMPRESS", default=True),
            "verify_certs": env_bool("ES_VERIFY_CERTS", default=True),
            "ca_certs": env_str("ES_CA_CERTS", "") or None,
            "bulk_chunk_size": env_int("ES_BULK_CHUNK_SIZE", 500),
            "bulk_max_retries": env_int("ES_BULK_MAX_RETRIES", 3),
        },
    }


# -- docdb (integration logs, one database per account) ----------------------
def _docdb() -> dict[str, Any]:
    """DocumentDB / MongoDB when DOCDB_BACKEND=mongo (each account's URL is
    its DocumentDBConnection row), else the IntegrationLog table.

    DOCDB_RETRY_WRITES stays off for Amazon DocumentDB (it has no retryable
    writes); turn it on for MongoDB. DOCDB_CONNECTION_REFRESH_SECONDS (30)
    bounds how long another process keeps using a connection row's old URL
    after it is edited. DOCDB_TLS_CA_FILE is the CA bundle
    (Amazon's global-bundle.pem for DocumentDB).
    """
    backend = env_str("DOCDB_BACKEND", "database").strip().lower()
    if backend == "database":
        return {
            "BACKEND": "core.utils.documentdb.database.DatabaseDocumentDBClient",
            "OPTIONS": {},
        }
    if backend != "mongo":
        raise ImproperlyConfigured(
            f"DOCDB_BACKEND={backend!r} is not known; use 'mongo' (DocumentDB / "
            "MongoDB) or 'database' (the default, a table)."
        )
    return {
        "BACKEND": "core.utils.documentdb.client.DocumentDBClient",
        "OPTIONS": {
            "database": env_str("DOCDB_DATABASE", "integration_logs"),
            "collection": env_str("DOCDB_COLLECTION", "integration_logs"),
            "server_selection_timeout_seconds": env_int(
                "DOCDB_SERVER_SELECTION_TIMEOUT_SECONDS", 5
            ),
            "connect_timeout_seconds": env_int("DOCDB_CONNECT_TIMEOUT_SECONDS", 5),
            "socket_timeout_seconds": env_int("DOCDB_SOCKET_TIMEOUT_SECONDS", 10),
            "operation_timeout_seconds": env_int("DOCDB_OPERATION_TIMEOUT_SECONDS", 15),
            "max_pool_size": env_int("DOCDB_MAX_POOL_SIZE", 10),
            "retry_writes": env_bool("DOCDB_RETRY_WRITES", default=False),
            "tls_ca_file": env_str("DOCDB_TLS_CA_FILE", "") or None,
            "connection_refresh_seconds": env_int(
                "DOCDB_CONNECTION_REFRESH_SECONDS", 30
            ),
        },
    }


# -- cache --------------------------------------------------------------------
CACHE_STORAGES = "core.cache.backends"


def _cache() -> dict[str, Any]:
    """The instance cache (core/cache): in-process unless Redis is configured.

    CACHE_REDIS_URL (e.g. redis://127.0.0.1:6379/0) selects RedisStorage;
    CACHE_REDIS_CLUSTER_NODES (host:port,host:port) selects
    RedisClusterStorage. The storage is a class path with its options, like
    every backend; CACHE_REDIS_TIMEOUT_MS bounds each Redis call, and
    CACHE_BREAKER_* tune the circuit breaker in front of it.
    """
    timeout_seconds = env_int("CACHE_REDIS_TIMEOUT_MS", 100) / 1000
    cluster_nodes = env_list("CACHE_REDIS_CLUSTER_NODES", [])
    url = env_str("CACHE_REDIS_URL", "")
    if cluster_nodes:
        storage: dict[str, Any] = {
            "BACKEND": f"{CACHE_STORAGES}.RedisClusterStorage",
            "OPTIONS": {
                "cluster_nodes": cluster_nodes,
                "socket_timeout_seconds": timeout_seconds,
            },
        }
    elif url:
        storage = {
            "BACKEND": f"{CACHE_STORAGES}.RedisStorage",
            "OPTIONS": {"url": url, "socket_timeout_seconds": timeout_seconds},
        }
    else:
        storage = {"BACKEND": f"{CACHE_STORAGES}.LocalStorage", "OPTIONS": {}}
    return {
        "BACKEND": "core.cache.HashCache",
        "OPTIONS": {
            "storage": storage,
            "failure_threshold": env_int("CACHE_BREAKER_FAILURES", 3),
            "reset_after_seconds": env_int("CACHE_BREAKER_RESET_SECONDS", 5),
        },
    }


def session_engine(cache: dict[str, Any]) -> str:
    """settings.SESSION_ENGINE for the cache service `cache`: sessions live in
    its Redis when its storage declares one that every process shares
    (`Capability.SHARED_REDIS`), else in the database.

    The storage class is imported to read what it declares: SESSION_ENGINE is
    fixed when settings load, and asking the class (not its name) keeps the
    choice right for any storage. Importing it loads no Redis package (a
    storage imports redis-py only when built) and reads no setting.
    """
    storage = cache["OPTIONS"].get("storage") or {
        "BACKEND": f"{CACHE_STORAGES}.LocalStorage"
    }
    capabilities = import_string(storage["BACKEND"]).capabilities
    if Capability.SHARED_REDIS in capabilities:
        return "core.auth.sessions"
    return "django.contrib.sessions.backends.db"
