"""Jobs through Fusion: the database engine, the broker engine, and Procrastinate.

Run: `.venv/bin/python -m bench.bench_jobs [--jobs 1000 --rounds 3 --workers 2
--engines database,celery,procrastinate]` (against DATABASE_URL, by default
the machine's PostgreSQL, and RabbitMQ at FUSION_BROKER_URL, by default
amqp://guest:guest@127.0.0.1:5672//).

For each engine, `--workers` real worker processes (`manage.py fusion_worker`
for the database engine, `celery worker --pool=solo` for the broker engine,
`procrastinate worker --concurrency=1` for the peer, see
procrastinate_peer.py) run a job that does nothing, so what is measured is
the queue itself:

- throughput: with the workers paused (SIGSTOP), `--jobs` jobs are enqueued
  (the enqueuer's cost per job is timed); then the workers resume (SIGCONT)
  and drain them: jobs per second from the first start to the last finish
  (timestamps from the job rows), so the enqueuer does not cap the rate.
  Keep the pause under twice FUSION_HEARTBEAT_STALE_SECONDS (12 s; Celery
  enqueues at about 4 ms a job, so --jobs up to about 2500): RabbitMQ
  closes the connection of a Celery worker silent that long, as it
  should, and the workers then spend the drain reconnecting and taking
  redelivered messages (3000 jobs measured 159 jobs/s, 1000 jobs 570);
- latency: `--latency-jobs` jobs enqueued at `--rate` per second (below
  capacity), enqueue-to-start p50 and p99 (enqueued_at -> started_at).

Every measurement starts from empty, vacuumed job tables (each engine's
and Procrastinate's), so no round pays for the rows an earlier one deleted.
Engines alternate round after round, the first rotating (bench/rounds.py),
so a noisy neighbour slows all; the workers run on the server CPUs and this
process (the enqueuer) on the load CPUs (bench/pinning.py). The medians over
rounds with their intervals, issue 17's targets (met, missed, or
inconclusive when the interval straddles one) and the per-round ratios of
the database engine to Procrastinate (the peer doing the same work on the same
PostgreSQL) and of Celery to the database engine are printed, and written
to var/bench/ (bench/results.py). `--quick`: a short pass. On PostgreSQL
the database engine's workers are woken by NOTIFY; elsewhere its latency is
bounded by its idle poll (FUSION_POLL_INTERVAL_SECONDS, default 1 s).
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from importlib import import_module
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django
from django.apps import apps

if not apps.ready:  # workers import this module for `noop`, already set up
    django.setup()

from django.conf import settings
from django.db import connection, models
from django.tasks import TaskResultStatus
from django.test.utils import override_settings
from django_tasks_db.models import DBTaskResult
from kombu import Connection

from bench.database import prepare_database
from bench.pinning import SERVER
from bench.procrastinate_peer import ProcrastinatePeer
from bench.results import Record, parse_arguments, start
from bench.rounds import AtLeast, AtMost, rotation
from config.settings.services import (
    FUSION_DEFAULT_BROKER_URL,
    fusion_tasks_setting,
)
from core.fusion.broker_worker import WORKER_OPTIONS
from core.models.fusion import FusionDeadLetter, FusionJob
from core.utils.fusion import job

REPO = Path(__file__).resolve().parent.parent
BROKER_URL = os.environ.get("FUSION_BROKER_URL", FUSION_DEFAULT_BROKER_URL)
QUEUE_PREFIX = f"bench-{uuid.uuid4().hex[:8]}."
TABLES = (DBTaskResult, FusionJob, FusionDeadLetter)
WAIT_SECONDS = 300.0
ENGINES = ("database", "celery", "procrastinate")
#: Issue 17's targets: 3x the 217 jobs/s measured before batch claims, and
#: LISTEN/NOTIFY pickup below capacity.
TARGET_JOBS_PER_SECOND = 650
TARGET_P50_SECONDS = 0.015
TARGET_P99_SECONDS = 0.100


@job(max_attempts=1, time_limit_seconds=30)
def noop(n: int) -> None:
    """The benchmark's job: nothing, so the queue's own cost shows."""


def the_job() -> Any:
    """`noop` under its importable name: run with `-m`, this module is
    `__main__`, a path workers could not import the job from."""
    return import_module("bench.bench_jobs").noop


# -- set-up -----------------------------------------------------------------


def create_tables() -> list[type[models.Model]]:
    """Create the job tables that do not exist yet; returns those created."""
    existing = set(connection.introspection.table_names())
    created = [m for m in TABLES if m._meta.db_table not in existing]
    with connection.schema_editor() as editor:
        for model in created:
            editor.create_model(model)
    return created


def drop_tables(created: list[type[models.Model]]) -> None:
    """Drop the tables this run created (and only those)."""
    with connection.schema_editor() as editor:
        for model in created:
            editor.delete_model(model)


def database_url() -> str:
    """DATABASE_URL as the bench process resolved it, for the workers."""
    return os.environ["DATABASE_URL"]


class Engine:
    """One engine: its settings, its worker processes, its job table."""

    def __init__(
        self, name: str, workers: int, log_dir: Path, prefix: Sequence[str] = ()
    ) -> None:
        """`prefix`: before each worker's command line (a pinning's taskset)."""
        self.name = name
        self.prefix = list(prefix)
        self.table: type[models.Model] = (
            DBTaskResult if name == "database" else FusionJob
        )
        self.tasks = fusion_tasks_setting(
            name, queues=["default"], broker_url=BROKER_URL, queue_prefix=QUEUE_PREFIX
        )
        self.processes = [self._start(i, log_dir) for i in range(workers)]

    def _start(self, index: int, log_dir: Path) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DATABASE_URL": database_url(),
            "FUSION_ENGINE": self.name,
            "FUSION_BROKER_URL": BROKER_URL,
            "FUSION_QUEUE_PREFIX": QUEUE_PREFIX,
        }
        if self.name == "database":
            argv = ["manage.py", "fusion_worker", "--no-startup-delay"]
        else:
            argv = [
                "-m", "celery", "-A", "core.fusion.celery_app", "worker",
                "--pool=solo", f"--queues={QUEUE_PREFIX}default", "--loglevel=WARNING",
                *WORKER_OPTIONS,
                f"--hostname={QUEUE_PREFIX}{index}@%h",
            ]  # fmt: skip
        log = (log_dir / f"{self.name}-{index}.log").open("wb")
        return subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [*self.prefix, sys.executable, *argv],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=log,
        )

    def pause(self) -> None:
        """SIGSTOP every worker (they keep their connections)."""
        for process in self.processes:
            process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT every worker."""
        for process in self.processes:
            process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        """SIGTERM every worker, SIGKILL any that lingers."""
        self.resume()
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    @contextmanager
    def active(self) -> Iterator[Callable[[int], Any]]:
        """`enqueue(n)` for the block: one `noop` job on this engine."""
        with override_settings(TASKS=self.tasks):
            yield the_job().enqueue

    def finished(self) -> int:
        """How many jobs have finished, successfully or not."""
        return self.table._default_manager.filter(
            status__in=[TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED]
        ).count()

    def clear(self) -> None:
        """Delete every job row, then (on PostgreSQL) vacuum the table: the
        rows a round deletes would otherwise stay as dead tuples for the
        next round's claims to step over (autovacuum comes later), and a
        round would pay for the one before it."""
        self.table._default_manager.all().delete()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"VACUUM ANALYZE {self.table._meta.db_table}")

    def times(self) -> list[tuple[datetime, datetime, datetime]]:
        """(enqueued_at, started_at, finished_at) of every finished job."""
        return list(
            self.table._default_manager.filter(
                status=TaskResultStatus.SUCCESSFUL
            ).values_list("enqueued_at", "started_at", "finished_at")
        )


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Poll `condition`; give up after WAIT_SECONDS with a message."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: timed out waiting for {what}")
        time.sleep(0.02)


# -- measurements -----------------------------------------------------------


def throughput(engine: Any, count: int) -> tuple[float, float]:
    """Jobs per second the workers drain, and the enqueuer's seconds per job."""
    engine.clear()
    engine.pause()
    try:
        with engine.active() as enqueue:
            started = time.perf_counter()
            for n in range(count):
                enqueue(n)
            enqueue_seconds = (time.perf_counter() - started) / count
    finally:
        engine.resume()
    wait_until(lambda: engine.finished() >= count, f"{count} {engine.name} jobs")
    rows = engine.times()
    first = min(started for _, started, _ in rows)
    last = max(finished for _, _, finished in rows)
    return count / (last - first).total_seconds(), enqueue_seconds


def latency(engine: Any, count: int, rate: float) -> list[float]:
    """Enqueue-to-start delays (seconds) of `count` jobs enqueued at `rate`/s."""
    engine.clear()
    with engine.active() as enqueue:
        for n in range(count):
            enqueue(n)
            time.sleep(1 / rate)
    wait_until(lambda: engine.finished() >= count, f"{count} {engine.name} jobs")
    return [
        (started - enqueued).total_seconds() for enqueued, started, _ in engine.times()
    ]


def percentile(values: list[float], fraction: float) -> float:
    """The `fraction` quantile (0.5 = median) of `values`."""
    ordered = sorted(values)
    return ordered[min(int(fraction * len(ordered)), len(ordered) - 1)]


def delete_broker_queue() -> None:
    """Remove this run's RabbitMQ queue."""
    with Connection(BROKER_URL, connect_timeout=5) as broker:
        broker.default_channel.queue_delete(QUEUE_PREFIX + "default")
        broker.default_channel.exchange_delete(QUEUE_PREFIX + "default")


#: What each round measures per engine, and its unit.
MEASURES = {"rate": "jobs/s", "enqueue": "s", "p50": "s", "p99": "s"}
Figures = dict[str, dict[str, list[float]]]


def run(args: argparse.Namespace, engines: dict[str, Any]) -> Figures:
    """Alternate the engines for `args.rounds`, the first rotating by round
    (bench/rounds.py); each measure's per-round figures, per engine."""
    results: Figures = {name: {key: [] for key in MEASURES} for name in engines}
    for engine in engines.values():  # warm up: workers started, imports done
        throughput(engine, 20)
    for number in range(args.rounds):
        for name in rotation(list(engines), number):
            engine = engines[name]
            rate, enqueue = throughput(engine, args.jobs)
            delays = latency(engine, args.latency_jobs, args.rate)
            results[name]["rate"].append(rate)
            results[name]["enqueue"].append(enqueue)
            results[name]["p50"].append(percentile(delays, 0.50))
            results[name]["p99"].append(percentile(delays, 0.99))
    return results


#: Issue 17's targets on each Fusion engine's figures.
TARGETS = {
    "rate": AtLeast(TARGET_JOBS_PER_SECOND, " jobs/s"),
    "p50": AtMost(TARGET_P50_SECONDS, " s"),
    "p99": AtMost(TARGET_P99_SECONDS, " s"),
}
#: Goals on the database engine against Procrastinate (ratios).
PEER_GOALS = {"rate": AtLeast(1.0), "p50": AtMost(1.0)}


def report(figures: Figures, record: Record) -> None:
    """Print one line per engine (medians), the targets of issue 17 (met,
    missed or inconclusive, for each Fusion engine), and the ratios to the
    peers measured in this run (medians of per-round ratios, with spreads)."""
    medians = {
        name: {
            key: record.figure(name, key, values, MEASURES[key], TARGETS.get(key)
                               if name in ("database", "celery") else None)
            for key, values in measures.items()
        }
        for name, measures in figures.items()
    }  # fmt: skip
    for name, m in medians.items():
        rate, enqueue, p50, p99 = (m[k].spread.median for k in MEASURES)
        print(
            f"{name:<13} {rate:5.0f} jobs/s | enqueue {enqueue * 1e6:5.0f} us"
            f" | enqueue->start p50 {p50 * 1e3:6.1f} ms, p99 {p99 * 1e3:6.1f} ms"
        )
    for name in ("database", "celery"):
        if name in medians:
            m = medians[name]
            print(
                f"targets, {name}: throughput {m['rate'].describe(digits=0)}, "
                f"p50 {m['p50'].describe(1e3, 1, ' ms')}, p99 "
                f"{m['p99'].describe(1e3, 1, ' ms')}"
            )
            for key in TARGETS:
                record.conclude(f"{name} {key} {TARGETS[key]}", str(m[key].verdict))
    if "database" in figures and "procrastinate" in figures:
        print(
            "database/procrastinate: "
            + peer_ratios(figures, "database", "procrastinate", record)
        )
    if "database" in figures and "celery" in figures:
        print("celery/database: " + peer_ratios(figures, "celery", "database", record))


def peer_ratios(figures: Figures, subject: str, baseline: str, record: Record) -> str:
    """subject / baseline of every measure, per round, with goals for the
    database engine against Procrastinate; one line of text."""
    goals = PEER_GOALS if baseline == "procrastinate" else {}
    words = {"rate": "throughput", "enqueue": "enqueue cost", "p50": "latency p50",
             "p99": "p99"}  # fmt: skip
    parts = []
    for key in MEASURES:
        ratio = record.ratio(
            key, subject, baseline, figures[subject][key], figures[baseline][key],
            goals.get(key),
        )  # fmt: skip
        parts.append(f"{words[key]} {ratio.describe()}")
    return ", ".join(parts)


def main() -> None:
    """Parse arguments, start the workers of every engine, measure, clean up."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--latency-jobs", type=int, default=200)
    parser.add_argument("--rate", type=float, default=50.0, help="jobs/s for latency")
    parser.add_argument(
        "--engines",
        default=",".join(ENGINES),
        help=f"comma-separated, of {', '.join(ENGINES)} (default: all)",
    )
    quick = {"jobs": 200, "rounds": 3, "latency_jobs": 40}
    args = parse_arguments(parser, quick)
    names = [name for name in ENGINES if name in args.engines.split(",")]
    if connection.vendor != "postgresql" and "procrastinate" in names:
        print("procrastinate needs PostgreSQL: left out")
        names.remove("procrastinate")
    options = settings.TASKS["default"]["OPTIONS"]
    print(
        f"database: {connection.vendor}, broker: RabbitMQ, {args.workers} worker "
        f"processes per engine, {args.rounds} rounds x {args.jobs} jobs (throughput) "
        f"+ {args.latency_jobs} jobs at {args.rate:g}/s (latency), medians; database "
        f"engine: LISTEN/NOTIFY on PostgreSQL, idle poll "
        f"{options.get('poll_interval_seconds', 1.0):g} s, claim batch "
        f"{options.get('claim_batch_size', 10)}"
    )
    record = start("bench_jobs", args)
    prefix = record.pinning.prefix(SERVER)
    prepare_database()  # the workers' maintenance rounds need every table
    created = create_tables()
    engines: dict[str, Any] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-jobs-") as log_dir:
            for name in names:
                engines[name] = start_engine(name, args.workers, Path(log_dir), prefix)
            report(run(args, engines), record)
    finally:
        for engine in engines.values():
            engine.stop()
            if isinstance(engine, Engine):
                engine.clear()
        if "celery" in engines:
            delete_broker_queue()
        drop_tables(created)
    record.write()


def start_engine(
    name: str, workers: int, log_dir: Path, prefix: Sequence[str] = ()
) -> Any:
    """A Fusion `Engine`, or the Procrastinate peer in a database of its own
    on the same server; its workers behind `prefix` (a pinning's taskset)."""
    if name != "procrastinate":
        return Engine(name, workers, log_dir, prefix)
    dbname = f"{connection.settings_dict['NAME']}_procrastinate"
    return ProcrastinatePeer(database_url(), dbname, workers, log_dir, prefix)


if __name__ == "__main__":
    main()
