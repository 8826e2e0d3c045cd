"""config/gunicorn.py: each worker warms its PDF renderer up as it starts,
and lets its threads take turns every millisecond."""

import sys
from typing import Any

import pytest

from config.gunicorn import WORKER_SWITCH_INTERVAL_SECONDS, post_worker_init
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
