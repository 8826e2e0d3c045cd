"""bench/bench_http.py: the verdict on the target and the gunicorn command
line. (The run itself is exercised by running the benchmark.)"""

import pytest

from bench.bench_http import (
    STACKS,
    gunicorn_command,
    listening_socket,
    parse_args,
    report,
)
from bench.wrk import WrkResult

pytestmark = pytest.mark.engine_independent


def _runs(*rps: float) -> list[WrkResult]:
    return [
        WrkResult(rps=r, p99_ms=10.0, statuses={200: 1}, socket_errors=0) for r in rps
    ]


def _results(
    core: list[float], plain: list[float]
) -> dict[tuple[str, str], list[WrkResult]]:
    """The same figures for both endpoints; django as fast as plain."""
    figures = {"core": core, "plain": plain, "django": plain}
    return {
        (endpoint, stack.name): _runs(*figures[stack.name])
        for endpoint in ("liveness", "patient")
        for stack in STACKS
    }


def test_core_at_080x_plain_meets_the_target(
    capsys: pytest.CaptureFixture[str],
) -> None:
    met = report(_results(core=[800, 400, 1600], plain=[1000, 500, 2000]))

    assert met is True
    printed = capsys.readouterr().out
    assert "core/plain: 0.80x the req/s" in printed
    assert "target: core >= 0.8x plain's req/s on both: met" in printed


def test_core_below_080x_plain_misses_the_target(
    capsys: pytest.CaptureFixture[str],
) -> None:
    met = report(_results(core=[790, 395, 1580], plain=[1000, 500, 2000]))

    assert met is False
    assert "NOT met" in capsys.readouterr().out


def test_ratios_are_the_median_of_per_round_ratios(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Per round: 0.30, 1.00, 0.85 -> median 0.85; the medians of each stack
    # (400 / 1000) would give 0.40.
    met = report(_results(core=[300, 400, 1700], plain=[1000, 400, 2000]))

    assert met is True
    assert "core/plain: 0.85x the req/s" in capsys.readouterr().out


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
