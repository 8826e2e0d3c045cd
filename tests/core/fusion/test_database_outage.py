"""A database-engine worker rides out a PostgreSQL crash (issue 20 point 1;
the class: a worker that dies with its database and leaves acknowledged
jobs waiting until someone starts one by hand).

A private PostgreSQL server (tests/postgres_servers.py) is migrated and
given jobs; a real `manage.py fusion_worker` runs them; the server is
SIGKILLed while jobs run and started again a few seconds later. The worker
must still be running, and every job committed before or after the crash
must have run exactly once, with no hand start.
"""

import shutil
import subprocess
import sys
import time

import psycopg
import pytest

from tests.core.fusion import jobs
from tests.core.fusion.processes import REPO, WorkerProcess, wait_for, worker_env
from tests.postgres_servers import PostgresServer

# Its worker and jobs live on a private PostgreSQL server, whatever the
# suite's own database: the SQLite run would repeat the same test.
pytestmark = [
    pytest.mark.engine_independent,
    pytest.mark.skipif(shutil.which("pgrep") is None, reason="needs pgrep (procps)"),
]

#: Jobs committed before the crash, and after it.
BEFORE, AFTER = 12, 6
#: How long each job takes: jobs are running when the server dies.
JOB_SECONDS = 0.25


def done(job_file: str) -> list[str]:
    """The jobs that finished ("job-3 done" lines), in order."""
    return [line.split()[0] for line in jobs.lines(job_file) if line.endswith(" done")]


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, check=True,
        capture_output=True, timeout=600,
    )  # fmt: skip


def enqueue(env: dict[str, str], job_file: str, first: int, count: int) -> None:
    """Commit `count` jobs (through the project, in their own process)."""
    code = (
        "from tests.core.fusion import jobs\n"
        f"for n in range({first}, {first + count}):\n"
        f"    jobs.slow_record.enqueue({job_file!r}, f'job-{{n}}', {JOB_SECONDS})\n"
    )
    manage(env, "shell", "-c", code)


def test_a_worker_rides_out_a_database_crash_and_runs_every_job_once(
    job_file, tmp_path
):
    with PostgresServer() as server:
        with psycopg.connect(f"{server.url}/postgres", autocommit=True) as admin:
            admin.execute("CREATE DATABASE lis")
        env = {**worker_env("database"), "DATABASE_URL": f"{server.url}/lis"}
        manage(env, "migrate", "--noinput")
        enqueue(env, job_file, 0, BEFORE)
        worker = WorkerProcess(
            ["manage.py", "fusion_worker", "--queue-name", "*", "--no-startup-delay"],
            env,
            tmp_path / "worker.log",
        )
        try:
            wait_for(lambda: len(done(job_file)) >= 2, "the first jobs")
            server.kill()  # jobs are running: their outcomes wait to be recorded
            time.sleep(3)
            assert worker.process.poll() is None, worker.output()[-3000:]
            server.start()
            enqueue(env, job_file, BEFORE, AFTER)
            wait_for(
                lambda: len(done(job_file)) >= BEFORE + AFTER,
                "every job after the crash",
                timeout=90,
                workers=(worker,),
            )
            time.sleep(2)  # a job run twice would show by now
            still_running = worker.process.poll() is None
        finally:
            worker.stop()

    every = sorted(f"job-{n}" for n in range(BEFORE + AFTER))
    assert sorted(done(job_file)) == every  # each finished once
    assert (
        sorted(
            line.split()[0]
            for line in jobs.lines(job_file)
            if line.endswith(" started")
        )
        == every
    )  # and started once
    assert still_running
    assert "The database is unavailable" in worker.output()
