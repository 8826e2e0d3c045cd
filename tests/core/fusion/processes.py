"""Real worker processes for the Fusion tests, and waiting without sleeping blind.

A worker runs with the test's settings module and the test database (its
name is only known once pytest-django created it), so `worker_env()` passes
DATABASE_URL pointing at `connection.settings_dict["NAME"]`: `test_<name>`
on PostgreSQL, the per-run file on SQLite (see config/settings/test.py).
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.db import connection

REPO = Path(__file__).resolve().parents[3]

#: Engine options for tests: fast polling, fast recovery. The test process
#: uses them through settings.TASKS, workers through the environment.
TEST_OPTIONS: dict[str, float] = {
    "poll_interval_seconds": 0.05,
    "maintenance_interval_seconds": 0.2,
    "recovery_grace_seconds": 1.0,
    "hard_limit_grace_seconds": 0.5,
    "relay_grace_seconds": 0.5,
    "publish_timeout_seconds": 2.0,
}
#: Heartbeats for the tests that kill or freeze workers: a dead worker is
#: found within about 2 s (the defaults, 2 s and 6 s, take up to 8 s).
HEARTBEAT_OPTIONS: dict[str, float] = {
    "heartbeat_seconds": 0.25,
    "heartbeat_stale_seconds": 2.0,
}
BROKER_URL = "amqp://guest:guest@127.0.0.1:5672//"
WAIT_SECONDS = 20.0


def database_url() -> str:
    """A DATABASE_URL for the test database this process uses."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    user = quote(settings["USER"] or "")
    password = quote(settings["PASSWORD"] or "")
    credentials = f"{user}:{password}@" if password else f"{user}@" if user else ""
    host = settings["HOST"] or "127.0.0.1"
    port = settings["PORT"] or 5432
    return f"postgres://{credentials}{host}:{port}/{settings['NAME']}"


def worker_env(
    engine: str, queue_prefix: str = "", *, heartbeats: bool = False
) -> dict[str, str]:
    """The environment of a worker process for `engine` (with `heartbeats`,
    the fast HEARTBEAT_OPTIONS)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FUSION_")}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=database_url(),
        FUSION_ENGINE=engine,
        FUSION_QUEUES="default,held,spare",
        PYTHONUNBUFFERED="1",
        LOG_LEVEL="INFO",
    )
    options = {**TEST_OPTIONS, **(HEARTBEAT_OPTIONS if heartbeats else {})}
    for option, seconds in options.items():
        env[f"FUSION_{option.upper()}"] = str(seconds)
    if engine == "celery":
        env.update(FUSION_BROKER_URL=BROKER_URL, FUSION_QUEUE_PREFIX=queue_prefix)
    return env


class WorkerProcess:
    """A worker subprocess in its own process group, its output in a file."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("ab") as output:
            self.process = subprocess.Popen(
                [sys.executable, *argv],
                cwd=REPO,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pid = self.process.pid

    def output(self) -> str:
        """Everything the worker printed so far."""
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the whole process group (a prefork pool's children too)."""
        if self.process.poll() is None:
            os.killpg(self.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def freeze(self) -> None:
        """SIGSTOP the process group: alive, holding its connections, silent
        (a VM pause, a swapped-out host)."""
        os.killpg(self.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT: carry on where it was frozen."""
        os.killpg(self.pid, signal.SIGCONT)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (a clean shutdown), then SIGKILL if it lingers."""
        if self.process.poll() is None:
            os.killpg(self.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=timeout)
        if self.process.poll() is None:
            self.kill()


def wait_for(
    condition: Callable[[], Any],
    what: str,
    *,
    timeout: float = WAIT_SECONDS,
    workers: tuple[WorkerProcess, ...] = (),
) -> Any:
    """Poll `condition` until it returns something truthy (returned); fail
    with `what` and the workers' output after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            logs = "\n".join(
                f"--- worker {w.pid}:\n{w.output()[-3000:]}" for w in workers
            )
            raise AssertionError(f"timed out waiting for {what}\n{logs}")
        time.sleep(0.05)
