"""Fixtures of the tests of PDF render limits (tests/core/test_pdf_limits*.py,
test_pdf_sync.py): real report templates registered for a test (long, wide,
slow, broken), a count of the work WeasyPrint really did, and helpers to
watch a forked render process.

Fixtures are defined as `<name>_fixture` and registered under `<name>`, as
in tests/pdf_fixtures.py.
"""

import json
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import weasyprint.layout.page  # type: ignore[import-untyped]
from django.db import connections
from weasyprint import HTML  # type: ignore[import-untyped]

from core.pdf_sync import warm_up
from core.utils.pdf.registry import register_report, unregister_report

#: Test reports: name -> (template, its source, max_pages).
REPORTS = {
    # one page per line
    "tests.pages": (
        "tests/pdf/pages.html",
        '{% extends "core/pdf/base_report.html" %}{% block content %}'
        '{% for line in data.lines %}<p style="break-after: page">{{ line }}</p>'
        "{% endfor %}{% endblock %}",
        3,
    ),
    # n x n elements from n values
    "tests.grid": (
        "tests/pdf/grid.html",
        '{% extends "core/pdf/base_report.html" %}{% block content %}'
        "{% for a in data.rows %}{% for b in data.rows %}<i>.</i>{% endfor %}"
        "{% endfor %}{% endblock %}",
        2,
    ),
    # a long table, without a limit of its own
    "tests.table": (
        "tests/pdf/table.html",
        '{% extends "core/pdf/base_report.html" %}{% block content %}<table>'
        "{% for row in data.rows %}<tr><td>{{ row }}</td><td>{{ row }}</td></tr>"
        "{% endfor %}</table>{% endblock %}",
        None,
    ),
    # notes its process in data.probe, then waits until data.gate exists
    "tests.slow": (
        "tests/pdf/slow.html",
        '{% extends "core/pdf/base_report.html" %}{% load pdf_test_tags %}'
        "{% block content %}{{ data.probe|note_process }}{{ data.gate|wait_for }}"
        "<p>Done</p>{% endblock %}",
        1,
    ),
    # a template with a bug
    "tests.broken": (
        "tests/pdf/broken.html",
        '{% extends "core/pdf/base_report.html" %}{% load pdf_test_tags %}'
        '{% block content %}{{ "deliberate failure"|fail }}{% endblock %}',
        1,
    ),
    # a misspelt CSS property, which WeasyPrint warns about
    "tests.bad_css": (
        "tests/pdf/bad_css.html",
        '{% extends "core/pdf/base_report.html" %}{% block content %}'
        '<p style="colour: red">Red?</p>{% endblock %}',
        1,
    ),
}


@pytest.fixture(name="limit_reports")
def limit_reports_fixture(settings: Any) -> Iterator[None]:
    """REPORTS registered for the test (and removed after), their templates
    beside the project's, with the filters of tests/pdf_template_tags.py."""
    settings.TEMPLATES = [
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "OPTIONS": {
                "loaders": [
                    (
                        "django.template.loaders.locmem.Loader",
                        {path: source for path, source, _ in REPORTS.values()},
                    ),
                    "django.template.loaders.app_directories.Loader",
                ],
                "libraries": {"pdf_test_tags": "tests.pdf_template_tags"},
            },
        }
    ]
    for name, (path, _, max_pages) in REPORTS.items():
        register_report(name, path, max_pages=max_pages)
    yield
    for name in REPORTS:
        unregister_report(name)


@dataclass(frozen=True)
class WeasyPrintCounts:
    """What WeasyPrint did since the fixture began, in this process and in
    the render processes forked from it: documents parsed (HTML objects
    made) and pages laid out (calls of its page layout)."""

    folder: Path

    def documents(self) -> int:
        """HTML documents WeasyPrint was given."""
        return self._count("documents")

    def pages(self) -> int:
        """Pages WeasyPrint laid out."""
        return self._count("pages")

    def tick(self, what: str) -> None:
        """Count one `what`: a byte appended to a file, which forked
        processes share (O_APPEND writes do not interleave)."""
        fd = os.open(self.folder / what, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            os.write(fd, b".")
        finally:
            os.close(fd)

    def _count(self, what: str) -> int:
        path = self.folder / what
        return path.stat().st_size if path.exists() else 0


@pytest.fixture(name="weasyprint_counts")
def weasyprint_counts_fixture(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> WeasyPrintCounts:
    """Counts WeasyPrint's own work by wrapping two of its functions (the
    library's, not ours: nothing is replaced, each call goes on as before).
    The web process's one warm-up render happens first, uncounted."""
    warm_up()
    folder = tmp_path / "weasyprint-counts"
    folder.mkdir()
    counts = WeasyPrintCounts(folder)
    remake_page = weasyprint.layout.page.remake_page
    parse = HTML.__init__

    def counted_remake_page(*args: Any, **kwargs: Any) -> Any:
        counts.tick("pages")
        return remake_page(*args, **kwargs)

    def counted_parse(self: Any, *args: Any, **kwargs: Any) -> None:
        counts.tick("documents")
        parse(self, *args, **kwargs)

    monkeypatch.setattr(weasyprint.layout.page, "remake_page", counted_remake_page)
    monkeypatch.setattr(HTML, "__init__", counted_parse)
    return counts


# -- watching a render process ---------------------------------------------------


def wait_for_file(path: Path, seconds: float = 30) -> None:
    """Return once `path` exists; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} did not appear in {seconds} s"
        time.sleep(0.02)


def read_probe(path: Path) -> dict[str, int]:
    """What tests.slow's note_process wrote: `{"pid": ..., "nice": ...}`."""
    wait_for_file(path)
    probe: dict[str, int] = json.loads(path.read_text())
    return probe


def process_gone(pid: int, seconds: float = 15) -> bool:
    """Whether process `pid` ends (or is a zombie) within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


def in_thread[T](function: Callable[[], T]) -> Future[T]:
    """`function()` run in a new thread, which closes its database
    connections when done (tests using it need transactional_db)."""

    def run() -> T:
        try:
            return function()
        finally:
            connections.close_all()

    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(run)
    pool.shutdown(wait=False)
    return future
