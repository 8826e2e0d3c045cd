"""Everything a production host talks to, for the production-flow test:
a fresh PostgreSQL database, a Redis server, moto's S3 server, queues of
its own on the machine's RabbitMQ, and the Pusher, Slack and webhook
stand-ins; and the `lis.env` that points deploy/lis.env.example at them.

    with production_peers(tmp_path) as peers:
        env_file = write_env_file(peers, tmp_path)

The database is created on the server of the session's DATABASE_URL, named
after its database with `_prod_<pid>` added (so `wt_deploy_prod_4242` or
`test_prod_4242`), and dropped at the end; on SQLite the test is skipped:
the embedded default is not a production deployment.
"""

import base64
import os
import secrets
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import dj_database_url
import psycopg
import pytest
from kombu import Connection

from tests.config.test_deploy_check import signing_key_file
from tests.core.fusion.processes import BROKER_URL
from tests.core.utils.aws.conftest import CREDENTIALS
from tests.deploy.host import DEPLOY, read_environment_file
from tests.peers import MotoPeer
from tests.redis_servers import RedisServer
from tests.standins.pusher import PusherStandIn
from tests.standins.slack import SlackStandIn
from tests.standins.webhook_receiver import WebhookReceiver

#: Values of deploy/lis.env.example the test keeps as they are written: the
#: choices every production makes (DEBUG off, the proxy's header, the engine).
KEPT_AS_WRITTEN = (
    "DJANGO_DEBUG", "DJANGO_ALLOWED_HOSTS", "DJANGO_SECURE_PROXY_SSL_HEADER",
    "LIS_LOCAL_SERVICES", "FUSION_ENGINE",
)  # fmt: skip


@dataclass
class Peers:
    """The running peers; see the module docstring."""

    database_url: str
    moto: MotoPeer
    bucket: str
    redis: RedisServer
    queue_prefix: str
    pusher: PusherStandIn
    slack: SlackStandIn
    receiver: WebhookReceiver


def _key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def example_values(peers: Peers, data_dir: Path) -> dict[str, str]:
    """A value for each variable deploy/lis.env.example sets but those kept
    as written: this host's secrets and the peers' addresses."""
    metrics_dir = data_dir / "metrics"  # created first, as the docs ask
    metrics_dir.mkdir(exist_ok=True)
    return {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": peers.database_url,
        "CACHE_REDIS_URL": peers.redis.url,
        "LIS_ENCRYPTION_KEYS": f"k1:{_key()}",
        "LIS_BLIND_INDEX_KEY": _key(),
        "ACTIVITY_LOG_SIGNING_KEY_FILE": str(signing_key_file(data_dir)),
        "LIS_DATA_DIR": str(data_dir),
        "S3_BUCKET": peers.bucket,
        "SLACK_BOT_TOKEN": peers.slack.token,
        "PUSHER_APP_ID": peers.pusher.app_id,
        "PUSHER_KEY": peers.pusher.key,
        "PUSHER_SECRET": peers.pusher.secret,
        "FUSION_BROKER_URL": BROKER_URL,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }


def peer_addresses(peers: Peers) -> dict[str, str]:
    """Variables the example leaves to their defaults (the real services'
    addresses) that point this host at the stand-ins, and its own queues."""
    return {
        "S3_ENDPOINT_URL": peers.moto.url,
        "S3_ACCESS_KEY_ID": CREDENTIALS["access_key_id"],
        "S3_SECRET_ACCESS_KEY": CREDENTIALS["secret_access_key"],
        "S3_ADDRESSING_STYLE": "path",
        "PUSHER_HOST": "127.0.0.1",
        "PUSHER_PORT": str(peers.pusher.port),
        "PUSHER_SSL": "0",
        "SLACK_API_URL": peers.slack.base_url,
        "WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "1",  # the receiver is on 127.0.0.1
        "WEBHOOK_RETRY_DELAYS_SECONDS": "0.5",
        "FUSION_QUEUE_PREFIX": peers.queue_prefix,
    }


def write_env_file(peers: Peers, directory: Path) -> Path:
    """`lis.env`: the example with each value replaced (but those kept as
    written) and the stand-ins' addresses added; mode 0600, as the example
    asks. Fails when the example sets a variable this test gives no value."""
    data_dir = directory / "data"
    data_dir.mkdir()
    example = (DEPLOY / "lis.env.example").read_text()
    values = example_values(peers, data_dir)
    named = set(read_environment_file(example))
    unset = named - set(values) - set(KEPT_AS_WRITTEN)
    assert not unset, f"give these variables of lis.env.example a value: {unset}"
    assert set(values) <= named, f"not in lis.env.example: {set(values) - named}"
    lines = []
    for line in example.splitlines():
        name = line.partition("=")[0]
        lines.append(f"{name}={values[name]}" if name in values else line)
    lines.append("# This host's peers: the test's stand-ins and queues.")
    lines += [f"{name}={value}" for name, value in peer_addresses(peers).items()]
    env_file = directory / "lis.env"
    env_file.write_text("\n".join(lines) + "\n")
    env_file.chmod(0o600)
    return env_file


@contextmanager
def fresh_database() -> Iterator[str]:
    """The URL of a new PostgreSQL database, dropped afterwards."""
    config = dj_database_url.parse(os.environ.get("DATABASE_URL") or "sqlite://")
    if config["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip(
            "production runs on PostgreSQL; the SQLite run is the embedded "
            "default, which this test is not about"
        )
    name = f"{config['NAME']}_prod_{os.getpid()}"
    server = {
        "host": config["HOST"] or None, "port": config["PORT"] or None,
        "user": config["USER"] or None, "password": config["PASSWORD"] or None,
    }  # fmt: skip
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(os.environ["DATABASE_URL"])._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def delete_queues(prefix: str) -> None:
    """Delete this host's broker queues (its prefix is its own)."""
    with Connection(BROKER_URL, connect_timeout=5) as connection:
        connection.default_channel.queue_delete(f"{prefix}default")


@contextmanager
def production_peers() -> Iterator[Peers]:
    """Start every peer; stop them all, and drop the database, afterwards."""
    with ExitStack() as stack:
        database_url = stack.enter_context(fresh_database())
        moto = MotoPeer()
        stack.callback(moto.stop)
        bucket = f"lis-prod-{uuid.uuid4().hex[:12]}"
        moto.create_bucket(bucket)  # versioned: a second upload would show
        redis = RedisServer()
        stack.callback(redis.stop)
        prefix = f"lis-prod-{os.getpid()}-{uuid.uuid4().hex[:6]}."
        stack.callback(delete_queues, prefix)
        yield Peers(
            database_url=database_url, moto=moto, bucket=bucket, redis=redis,
            queue_prefix=prefix,
            pusher=stack.enter_context(PusherStandIn()),
            slack=stack.enter_context(SlackStandIn()),
            receiver=stack.enter_context(WebhookReceiver()),
        )  # fmt: skip
