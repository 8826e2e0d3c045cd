"""Every peer of the report release, for end-to-end tests: S3 (moto's
server, reached through a `HoldingProxy` so a test can hold an upload's
reply), Redis, the Pusher, Slack and webhook stand-ins, and Fusion worker
processes that reach them through environment variables, as a deployment
does.

    with release_peers(tmp_path) as peers:
        settings.SERVICES = peers.services_setting()  # this process, the same way
        worker = peers.start_worker()
        ...
        peers.pusher.stop(); ...; peers.pusher.start()  # back on the same port

Each peer can be stopped and started again on the port it had, because a
worker is given the URLs once, at its start. PostgreSQL is not among them:
it is the test's own database server, shared with other processes here.
"""

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

from django.conf import settings

from config.settings.services import build_services
from tests.core.fusion.processes import WorkerProcess, worker_env
from tests.core.utils.aws.conftest import CREDENTIALS, MotoServer
from tests.redis_servers import RedisServer
from tests.standins.holding_proxy import HoldingProxy
from tests.standins.pusher import PusherStandIn
from tests.standins.slack import SlackStandIn
from tests.standins.webhook_receiver import WebhookReceiver

#: Webhook delivery for tests: receivers on 127.0.0.1, retries every half
#: second, and enough attempts to outlast any outage a test makes.
WEBHOOK_ENV = {
    "WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "1",
    "WEBHOOK_RETRY_DELAYS_SECONDS": "0.5",
    "WEBHOOK_MAX_ATTEMPTS": "100",
    "WEBHOOK_TIMEOUT_SECONDS": "2",
    "WEBHOOK_ALERT_SLACK_CHANNEL": "",
}


class MotoPeer(MotoServer):
    """moto's S3 server, which can be stopped and started again on its port.

    moto keeps everything in memory: after a restart the bucket is gone
    (as on a wiped server), so `create_bucket()` makes it again.
    """

    def start(self) -> None:
        """Start the server again on the same port, after `stop()`."""
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
             "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self._wait_until_ready()

    def create_bucket(self, name: str) -> None:
        """Create `name` with versioning on, so every upload leaves a version
        a test can count (a repeated upload shows as a second version)."""
        admin = self.admin()
        admin.create_bucket(Bucket=name)
        admin.put_bucket_versioning(
            Bucket=name, VersioningConfiguration={"Status": "Enabled"}
        )

    def versions(self, bucket: str, prefix: str) -> list[dict[str, Any]]:
        """Every stored version under `prefix`, e.g.
        `[{"Key": "labs/1/reports/3/edition-1.pdf", "VersionId": ...}, ...]`."""
        answer = self.admin().list_object_versions(Bucket=bucket, Prefix=prefix)
        return list(answer.get("Versions", []))


@dataclass
class ReleasePeers:
    """The running peers of one test; see the module docstring."""

    moto: MotoPeer
    bucket: str
    s3_proxy: HoldingProxy
    redis: RedisServer
    pusher: PusherStandIn
    slack: SlackStandIn
    receiver: WebhookReceiver
    logs: Path
    workers: list[WorkerProcess] = field(default_factory=list)

    def service_env(self) -> dict[str, str]:
        """The environment variables that point the services at the peers
        (config/settings/services.py reads them)."""
        return {
            "S3_BUCKET": self.bucket,
            "S3_ENDPOINT_URL": self.s3_proxy.url,
            "S3_ACCESS_KEY_ID": CREDENTIALS["access_key_id"],
            "S3_SECRET_ACCESS_KEY": CREDENTIALS["secret_access_key"],
            "S3_ADDRESSING_STYLE": "path",
            "S3_CONNECT_TIMEOUT_SECONDS": "1",
            "PUSHER_APP_ID": self.pusher.app_id,
            "PUSHER_KEY": self.pusher.key,
            "PUSHER_SECRET": self.pusher.secret,
            "PUSHER_HOST": "127.0.0.1",
            "PUSHER_PORT": str(self.pusher.port),
            "PUSHER_SSL": "0",
            "SLACK_BOT_TOKEN": self.slack.token,
            "SLACK_API_URL": self.slack.base_url,
            "CACHE_REDIS_URL": self.redis.url,
        }

    def services_setting(self) -> dict[str, dict[str, Any]]:
        """settings.SERVICES as a worker builds it from `service_env()`, for
        the test process (which releases) to use the same peers."""
        with mock.patch.dict(os.environ, self.service_env()):
            return build_services(settings.DATA_DIR)

    def start_worker(self) -> WorkerProcess:
        """A `manage.py fusion_worker` process on the database engine, every
        queue, configured by `service_env()` and `WEBHOOK_ENV`."""
        env = {**worker_env("database"), **self.service_env(), **WEBHOOK_ENV}
        argv = ["manage.py", "fusion_worker", "--queue-name", "*"]
        log = self.logs / f"worker-{len(self.workers)}.log"
        worker = WorkerProcess([*argv, "--no-startup-delay"], env, log)
        self.workers.append(worker)
        return worker

    def restart_redis(self) -> None:
        """Start Redis again on its port, empty (after `redis.stop()`)."""
        self.redis = RedisServer(self.redis.port)


@contextmanager
def release_peers(logs: Path) -> Iterator[ReleasePeers]:
    """Start every peer (worker logs go to `logs`); stop them all afterwards,
    workers first."""
    with ExitStack() as stack:
        moto = MotoPeer()
        stack.callback(moto.stop)
        bucket = f"lis-release-{uuid.uuid4().hex[:12]}"
        moto.create_bucket(bucket)
        s3_proxy = stack.enter_context(HoldingProxy(moto.url))
        pusher = stack.enter_context(PusherStandIn())
        slack = stack.enter_context(SlackStandIn())
        receiver = stack.enter_context(WebhookReceiver())
        peers = ReleasePeers(
            moto=moto, bucket=bucket, s3_proxy=s3_proxy, redis=RedisServer(),
            pusher=pusher, slack=slack, receiver=receiver, logs=logs,
        )  # fmt: skip
        stack.callback(lambda: peers.redis.stop())  # the restarted one, if any
        try:
            yield peers
        finally:
            for worker in peers.workers:
                worker.stop()
