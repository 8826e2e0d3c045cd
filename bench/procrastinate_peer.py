"""Procrastinate, the peer bench_jobs measures Fusion's database engine against.

Procrastinate (a PostgreSQL job queue in Python: `SELECT ... FOR UPDATE SKIP
LOCKED` claims, LISTEN/NOTIFY wake-ups) runs on the same PostgreSQL server,
in a database of its own (`<bench database>_procrastinate`, created and
dropped here, so its schema never mixes with ours), with the same number
of worker processes, one job at a time each (`--concurrency=1`), and a job
that does nothing. Its job is `async` (its native form: a sync job would
run in a thread); Fusion's is a plain function.

Timestamps come from Procrastinate's own event rows (`deferred`, `started`,
`succeeded`), written by its triggers, as Fusion's come from its job rows.
"""

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from procrastinate import App, PsycopgConnector
from psycopg.conninfo import make_conninfo

#: Where the workers and the enqueuer find Procrastinate's database.
URL_VARIABLE = "PROCRASTINATE_BENCH_URL"

app = App(
    connector=PsycopgConnector(conninfo=os.environ.get(URL_VARIABLE, "")),
)


@app.task(name="noop", queue="default")
async def noop(n: int) -> None:
    """The peer's job: nothing."""


def _admin(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(url, dbname="postgres", autocommit=True)


class ProcrastinatePeer:
    """Procrastinate's database and workers, driven like bench_jobs' `Engine`."""

    name = "procrastinate"

    def __init__(
        self,
        server_url: str,
        dbname: str,
        workers: int,
        log_dir: Path,
        prefix: Sequence[str] = (),
    ):
        """`prefix`: before each worker's command line (a pinning's taskset)."""
        self.server_url, self.dbname = server_url, dbname
        self.prefix = list(prefix)
        self.url = make_conninfo(server_url, dbname=dbname)
        with _admin(server_url) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{dbname}"')
        # The module's app, on this database and open for the whole run
        # (closed by stop()).
        self._exit = ExitStack()
        self.app = self._exit.enter_context(
            app.replace_connector(PsycopgConnector(conninfo=self.url))
        )
        self._exit.enter_context(self.app.open())
        self.app.schema_manager.apply_schema()
        self.db = psycopg.connect(self.url, autocommit=True)
        self.processes = [self._start(i, log_dir) for i in range(workers)]

    def _start(self, index: int, log_dir: Path) -> subprocess.Popen[bytes]:
        argv = [
            "-m", "procrastinate", "--app=bench.procrastinate_peer.app", "worker",
            "--concurrency=1", "--queues=default", f"--name=bench-{index}",
        ]  # fmt: skip
        log = (log_dir / f"procrastinate-{index}.log").open("wb")
        return subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [*self.prefix, sys.executable, *argv],
            cwd=Path(__file__).resolve().parent.parent,
            env={**os.environ, URL_VARIABLE: self.url},
            stdout=log,
            stderr=log,
        )

    def pause(self) -> None:
        """SIGSTOP every worker."""
        for process in self.processes:
            process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT every worker."""
        for process in self.processes:
            process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        """Stop the workers and drop the peer's database."""
        self.resume()
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.db.close()
        self._exit.close()
        with _admin(self.server_url) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)')

    @contextmanager
    def active(self) -> Iterator[Callable[[int], Any]]:
        """`enqueue(n)` for the block: defers one `noop` job (autocommit)."""
        yield lambda n: noop.defer(n=n)

    def finished(self) -> int:
        """How many jobs have finished, successfully or not."""
        row = self.db.execute(
            "SELECT count(*) FROM procrastinate_jobs "
            "WHERE status IN ('succeeded', 'failed')"
        ).fetchone()
        return int(row[0]) if row else 0

    def clear(self) -> None:
        """Delete every job (and, by cascade, its events), and vacuum the
        tables, as bench_jobs does with our engines' (Engine.clear)."""
        self.db.execute("DELETE FROM procrastinate_jobs")
        self.db.execute("VACUUM ANALYZE procrastinate_jobs, procrastinate_events")

    def times(self) -> list[tuple[datetime, datetime, datetime]]:
        """(deferred, started, succeeded) of every successful job."""
        rows = self.db.execute(
            "SELECT max(at) FILTER (WHERE type = 'deferred'),"
            " max(at) FILTER (WHERE type = 'started'),"
            " max(at) FILTER (WHERE type = 'succeeded')"
            " FROM procrastinate_events GROUP BY job_id"
            " HAVING count(*) FILTER (WHERE type = 'succeeded') > 0"
        ).fetchall()
        return [(deferred, started, done) for deferred, started, done in rows]
