"""A real S3-compatible server for the S3 tests: moto's server, run as a
subprocess on a free 127.0.0.1 port, once per test session."""

import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from core.utils.aws.client import S3Client

CREDENTIALS = {"access_key_id": "testing", "secret_access_key": "testing"}
READY_TIMEOUT_SECONDS = 20


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class MotoServer:
    """`python -m moto.server` on a free port; `stop()` ends the process."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                str(self.port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._wait_until_ready()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("moto's server exited at start-up")
            try:
                with urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1):  # noqa: S310
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"moto's server did not answer within {READY_TIMEOUT_SECONDS} s"
        )

    def stop(self) -> None:
        """End the server; its port then refuses connections."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def admin(self) -> Any:
        """A plain boto3 client, for setting up and inspecting buckets."""
        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    server = MotoServer()
    yield server
    server.stop()


@pytest.fixture
def bucket(moto_server: MotoServer) -> str:
    """A new, empty bucket on the session's moto server."""
    name = f"lis-test-{uuid.uuid4().hex[:12]}"
    moto_server.admin().create_bucket(Bucket=name)
    return name


@pytest.fixture
def make_s3_client() -> Iterator[Callable[..., S3Client]]:
    """Builds S3Clients with test timeouts, and closes them afterwards."""
    made: list[S3Client] = []

    def make(endpoint_url: str, bucket: str, **options: Any) -> S3Client:
        settings: dict[str, Any] = {
            "addressing_style": "path",
            "connect_timeout_seconds": 1,
            "read_timeout_seconds": 2,
            "max_attempts": 2,
            **CREDENTIALS,
            **options,
        }
        client = S3Client(bucket=bucket, endpoint_url=endpoint_url, **settings)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def s3(
    moto_server: MotoServer, bucket: str, make_s3_client: Callable[..., S3Client]
) -> S3Client:
    """An S3Client on the session's moto server and a fresh bucket."""
    return make_s3_client(moto_server.url, bucket)
