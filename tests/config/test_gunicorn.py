"""config/gunicorn.py: each worker warms its PDF renderer up as it starts."""

from typing import Any

import pytest

from config.gunicorn import post_worker_init
from core import pdf_sync
from tests.pdf_render_fixtures import (  # noqa: F401 - fixtures
    WeasyPrintCounts,
    weasyprint_counts_fixture,
)


def test_a_new_worker_renders_once_before_any_request(
    weasyprint_counts: WeasyPrintCounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a process that has not rendered yet (the counting fixture warmed
    # this test process up; a new worker has not)
    monkeypatch.setattr(pdf_sync, "_warm", False)
    worker: Any = None  # gunicorn's Worker; the hook does not use it

    # when gunicorn calls the hook, then one small document is rendered here
    post_worker_init(worker)
    assert weasyprint_counts.documents() == 1
    # and only once
    post_worker_init(worker)
    assert weasyprint_counts.documents() == 1
