"""Multiprocess mode with real processes: gunicorn with 2 workers and a
Fusion worker (`manage.py fusion_worker`) write their metrics to one
PROMETHEUS_MULTIPROC_DIR, and a scrape answered by either gunicorn worker
sums all of them; a worker that exits (gunicorn's `child_exit`) leaves its
counts in the sums."""

import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.multiprocess import MultiProcessCollector

from tests.core.fusion import jobs
from tests.core.fusion.processes import REPO, WorkerProcess, wait_for, worker_env
from tests.core.metrics.scrape import METRICS, value

pytestmark = pytest.mark.django_db(transaction=True)  # the processes read it
UNKNOWN_PATH = "/no/such/page/"
UNRESOLVED = {"route": "unresolved", "method": "GET", "status": "4xx"}


class Gunicorn:
    """`gunicorn -c config/gunicorn.py config.wsgi:application` with 2
    workers on a loopback port, as the README's production command."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        listener.set_inheritable(True)
        self.url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        with listener, log.open("ab") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "config.wsgi:application",
                 "--bind", f"fd://{listener.fileno()}", "-c", "config/gunicorn.py",
                 "--workers", "2", "--worker-class", "gthread", "--threads", "2"],
                cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT,
                pass_fds=(listener.fileno(),),
            )  # fmt: skip
        self.log = log

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=10) as answer:  # noqa: S310
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as refused:
            return refused.code, refused.read().decode()

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def metrics_dir(tmp_path: Path) -> Path:
    path = tmp_path / "metrics"
    path.mkdir()
    return path


@pytest.fixture
def processes(
    database_engine: Any, metrics_dir: Path, tmp_path: Path
) -> Iterator[tuple[Gunicorn, WorkerProcess]]:
    env = {**worker_env("database"), "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    server = Gunicorn(env, tmp_path / "gunicorn.log")
    worker = WorkerProcess(
        ["manage.py", "fusion_worker", "--queue-name", "*", "--no-startup-delay"],
        env,
        tmp_path / "worker.log",
    )
    try:
        wait_for(lambda: _answers(server), "gunicorn to answer", workers=(worker,))
        yield server, worker
    finally:
        server.stop()
        worker.stop()


def _answers(server: Gunicorn) -> bool:
    try:
        return server.get("/core/view/live/")[0] == 200
    except OSError:
        return False


def http_counts_by_pid(metrics_dir: Path) -> dict[int, float]:
    """The unresolved GETs each process counted, read from its own file by
    prometheus_client's merge."""
    counts = {}
    for file in metrics_dir.glob("counter_*.db"):
        pid = int(file.stem.removeprefix("counter_"))
        merged = MultiProcessCollector.merge([str(file)])
        counts[pid] = sum(
            s.value
            for family in merged
            for s in family.samples
            if s.name == "lis_http_requests_total"
            and all(s.labels.get(k) == v for k, v in UNRESOLVED.items())
        )
    return {pid: n for pid, n in counts.items() if n}


def test_a_scrape_sums_every_gunicorn_worker_and_the_fusion_worker(
    processes: tuple[Gunicorn, WorkerProcess], metrics_dir: Path, job_file: str
) -> None:
    server, worker = processes
    sent = 0

    # Given requests answered by both gunicorn workers (sent side by side
    # until each has counted some)
    with ThreadPoolExecutor(4) as pool:
        while len(http_counts_by_pid(metrics_dir)) < 2 and sent < 400:
            statuses = list(pool.map(lambda _: server.get(UNKNOWN_PATH)[0], range(8)))
            assert statuses == [404] * 8
            sent += 8
    assert len(http_counts_by_pid(metrics_dir)) == 2
    # and a job run by the Fusion worker
    jobs.record.enqueue(job_file, "counted")
    wait_for(lambda: jobs.lines(job_file), "the job", workers=(worker,))

    # When either gunicorn worker answers a scrape, it has every count
    status, text = server.get(METRICS)
    assert status == 200
    assert value(text, "lis_http_requests_total", **UNRESOLVED) == sent
    job = {"job": "tests.core.fusion.jobs.record", "outcome": "succeeded"}
    wait_for(
        lambda: value(server.get(METRICS)[1], "lis_fusion_job_attempts_total", **job),
        "the worker's count",
    )

    # And a gunicorn worker that exits leaves its counts in the sums
    os.kill(min(http_counts_by_pid(metrics_dir)), signal.SIGTERM)
    wait_for(lambda: _answers(server), "gunicorn to answer again")
    _, text = server.get(METRICS)
    assert value(text, "lis_http_requests_total", **UNRESOLVED) == sent
