"""config/gunicorn.py: each worker warms its PDF renderer up as it starts,
lets its threads take turns every millisecond, and is forgotten by the
multiprocess metrics when it exits."""

import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from config.gunicorn import (
    WORKER_SWITCH_INTERVAL_SECONDS,
    child_exit,
    post_worker_init,
)
from core import pdf_sync
from tests.pdf_render_fixtures import WeasyPrintCounts

pytestmark = pytest.mark.engine_independent


def test_a_new_worker_renders_once_before_any_request(
    weasyprint_counts: WeasyPrintCounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a process that has not rendered yet (the counting fixture warmed
    # this test process up; a new worker has not)
    monkeypatch.setattr(pdf_sync, "_warm", False)
    worker: Any = None  # gunicorn's Worker; the hook does not use it

    # when gunicorn calls the hook, then one small document is rendered here
    before = sys.getswitchinterval()
    post_worker_init(worker)
    sys.setswitchinterval(before)
    assert weasyprint_counts.documents() == 1
    # and only once
    post_worker_init(worker)
    sys.setswitchinterval(before)
    assert weasyprint_counts.documents() == 1


def test_a_worker_switches_threads_every_millisecond(
    weasyprint_counts: WeasyPrintCounts,
) -> None:
    before = sys.getswitchinterval()
    try:
        post_worker_init(None)
        assert sys.getswitchinterval() == WORKER_SWITCH_INTERVAL_SECONDS == 0.001
    finally:
        sys.setswitchinterval(before)


def test_an_exited_worker_is_forgotten_by_multiprocess_metrics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a worker's files in the metrics directory
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    live_gauge = tmp_path / "gauge_livesum_4242.db"
    counter = tmp_path / "counter_4242.db"
    live_gauge.touch()
    counter.touch()

    # when gunicorn says it exited
    child_exit(None, SimpleNamespace(pid=4242))

    # then its live gauges stop counting, and its counters stay in the sums
    assert not live_gauge.exists()
    assert counter.exists()


def test_without_a_metrics_directory_an_exit_needs_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)

    child_exit(None, SimpleNamespace(pid=4242))
