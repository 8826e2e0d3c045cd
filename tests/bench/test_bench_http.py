"""bench/bench_http.py: the verdict on the target, the gunicorn command
line, the servers' CPU time, and the refusal of a database that is not the
benchmark's. (The run itself is exercised by running the benchmark.)"""

import argparse
import subprocess
import sys
import time

import pytest

from bench import bench_http
from bench.bench_http import NO_METRICS, STACKS, Run, parse_args, report
from bench.database import bench_database_name
from bench.gunicorn import Stack, cpu_seconds, gunicorn_command, listening_socket
from bench.pinning import plan_pinning
from bench.results import Record
from bench.wrk import WrkResult

pytestmark = pytest.mark.engine_independent


def _record() -> Record:
    return Record("bench_http", argparse.Namespace(), plan_pinning(enabled=False))


def _runs(*rps: float, cpu_seconds: float = 1.0) -> list[Run]:
    """Runs of 1 s answering `rps` requests each with `cpu_seconds` of
    server CPU."""
    return [
        Run(
            WrkResult(rps=r, p99_ms=10.0, statuses={200: int(r)}, socket_errors=0),
            cpu_seconds,
        )
        for r in rps
    ]


def _results(core: list[float], plain: list[float]) -> dict[tuple[str, str], list[Run]]:
    """The same figures for both endpoints; every stack but core as fast as
    plain (a stack added to STACKS included)."""
    return {
        (endpoint, stack.name): _runs(*(core if stack.name == "core" else plain))
        for endpoint in ("liveness", "patient")
        for stack in bench_http.STACKS
    }


def test_core_at_080x_plain_meets_the_target(
    capsys: pytest.CaptureFixture[str],
) -> None:
    record = _record()
    verdict = report(_results(core=[800, 400, 1600], plain=[1000, 500, 2000]), record)

    assert verdict == "met"
    printed = capsys.readouterr().out
    assert (
        "core/plain: req/s 0.80x (75% CI 0.80-0.80 = range, 3 rounds) >= 0.8x: met"
        in (printed)
    )
    assert "target: core >= 0.8x plain's req/s on every endpoint: met" in printed
    assert record.verdicts == {"core >= 0.8x plain's req/s": "met"}


def test_core_below_080x_plain_misses_the_target(
    capsys: pytest.CaptureFixture[str],
) -> None:
    verdict = report(
        _results(core=[790, 395, 1580], plain=[1000, 500, 2000]), _record()
    )

    assert verdict == "missed"
    assert "every endpoint: missed" in capsys.readouterr().out


def test_ratios_are_the_median_of_per_round_ratios_and_a_wide_spread_is_inconclusive(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Per round: 0.30, 1.00, 0.85 -> median 0.85; the medians of each stack
    # (400 / 1000) would give 0.40. Its interval, 0.30-1.00, straddles 0.8.
    verdict = report(
        _results(core=[300, 400, 1700], plain=[1000, 400, 2000]), _record()
    )

    assert verdict == "inconclusive"
    printed = capsys.readouterr().out
    assert "core/plain: req/s 0.85x (75% CI 0.30-1.00 = range, 3 rounds)" in printed
    assert "every endpoint: inconclusive" in printed


def test_every_other_stack_gets_its_ratio_without_a_target(
    capsys: pytest.CaptureFixture[str],
) -> None:
    record = _record()
    report(_results(core=[800, 400, 1600], plain=[1000, 500, 2000]), record)

    printed = capsys.readouterr().out
    assert "core/django: req/s 0.80x (75% CI 0.80-0.80 = range, 3 rounds);" in (printed)
    baselines = {(r["metric"], r["baseline"]) for r in record.ratios}
    assert ("patient req/s", "django") in baselines
    assert ("liveness p99", "plain") in baselines


def test_gthread_workers_get_threads_and_sync_workers_do_not() -> None:
    gthread = gunicorn_command("config.wsgi:application", 7, parse_args([]))
    sync = gunicorn_command(
        "app:application", 7, parse_args(["--worker-class", "sync"])
    )

    assert gthread[3:] == [
        "config.wsgi:application", "--bind", "fd://7", "--workers", "2",
        "--worker-class", "gthread", "--threads", "4", "--log-level", "warning",
    ]  # fmt: skip
    assert "--threads" not in sync
    assert sync[sync.index("--worker-class") + 1] == "sync"


def test_the_listening_socket_is_bound_on_loopback_and_inheritable() -> None:
    with listening_socket() as listener:
        host, port = listener.getsockname()

        assert host == "127.0.0.1" and port > 0
        assert listener.get_inheritable()


def test_a_stack_added_to_stacks_is_compared_with_core(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = Stack("nometrics", "config.wsgi:application", "bench.http_settings",
                  "/core/view/live/", "/api/patients/{patient_id}/")  # fmt: skip
    monkeypatch.setattr(bench_http, "STACKS", (*STACKS, extra))
    record = _record()

    report(_results(core=[900, 450, 1800], plain=[1000, 500, 2000]), record)

    printed = capsys.readouterr().out
    assert "liveness  core/nometrics: req/s 0.90x (75% CI 0.90-0.90" in printed
    assert ("patient req/s", "nometrics") in {
        (r["metric"], r["baseline"]) for r in record.ratios
    }


def _metrics_cost(core: list[float]) -> dict[tuple[str, str], list[Run]]:
    """core at `core` req/s, core-nometrics at 1000, 500 and 2000, both on
    both endpoints."""
    return {
        (endpoint, stack): _runs(*(core if stack == "core" else [1000, 500, 2000]))
        for endpoint in ("liveness", "patient")
        for stack in ("core", NO_METRICS.name)
    }


def test_the_metrics_middlewares_cost_is_a_ratio_with_its_own_target(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Per round: 0.96 of core without its metrics middleware (4% cost).
    record = _record()

    verdict = report(_metrics_cost(core=[960, 480, 1920]), record)

    assert verdict == "met"
    printed = capsys.readouterr().out
    line = next(x for x in printed.splitlines() if "patient   core/core-nom" in x)
    assert line.startswith(
        "patient   core/core-nometrics: req/s 0.96x "
        "(75% CI 0.96-0.96 = range, 3 rounds) >= 0.95x: met"
    )
    assert record.verdicts == {"core >= 0.95x core-nometrics's req/s": "met"}


def test_a_metrics_middleware_costing_more_than_5_percent_misses(
    capsys: pytest.CaptureFixture[str],
) -> None:
    verdict = report(_metrics_cost(core=[940, 470, 1880]), _record())

    assert verdict == "missed"
    assert "req/s 0.94x" in capsys.readouterr().out


def test_requests_per_server_cpu_second_are_printed_beside_req_s(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A server that used half a CPU (it waited) answers twice its req/s per
    # CPU-second; core used 1.25x core-nometrics's CPU per request.
    results = _metrics_cost(core=[1000, 500, 2000])
    results[("patient", "core")] = _runs(1000, 500, 2000, cpu_seconds=0.625)
    results[("patient", NO_METRICS.name)] = _runs(1000, 500, 2000, cpu_seconds=0.5)
    record = _record()

    report(results, record)

    printed = capsys.readouterr().out
    assert "patient   core        1000    10.00      1600" in printed
    line = next(x for x in printed.splitlines() if "patient   core/core-nom" in x)
    assert "req/CPU-s 0.80x (75% CI 0.80-0.80 = range, 3 rounds)" in line
    assert ("patient req/CPU-s", NO_METRICS.name) in {
        (r["metric"], r["baseline"]) for r in record.ratios
    }


def test_a_servers_cpu_time_counts_its_workers() -> None:
    # A parent (as gunicorn's master) whose child burns about 0.5 s of CPU
    # and sleeps while the parent sleeps too.
    burn_in_a_child = (
        "import subprocess, sys; subprocess.run([sys.executable, '-c', "
        '"import time\\nend = time.process_time() + 0.5\\n'
        'while time.process_time() < end: pass\\ntime.sleep(30)"])'
    )
    parent = subprocess.Popen([sys.executable, "-c", burn_in_a_child])
    try:
        deadline = time.monotonic() + 20
        while cpu_seconds(parent.pid) < 0.5 and time.monotonic() < deadline:
            time.sleep(0.05)
        used = cpu_seconds(parent.pid)

        assert 0.5 <= used < 2.0
    finally:
        parent.kill()
        parent.wait()


@pytest.mark.parametrize("name", ["postgres", "template1", "lab_production"])
def test_a_database_not_named_for_a_benchmark_is_refused(name: str) -> None:
    config = {"ENGINE": "django.db.backends.postgresql", "NAME": name}

    with pytest.raises(SystemExit, match=f"drop database '{name}'"):
        bench_database_name(config)


def test_a_benchmarks_own_database_is_accepted() -> None:
    config = {"ENGINE": "django.db.backends.postgresql", "NAME": "lis_bench_http"}

    assert bench_database_name(config) == "lis_bench_http"
