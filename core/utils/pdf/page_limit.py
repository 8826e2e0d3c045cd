"""Stopping WeasyPrint's layout at a page limit, as the pages are made.

WeasyPrint has no public hook between pages. Its layout, though, makes the
pages with one generator, `weasyprint.layout.make_all_pages`, which
`layout_document` calls (once per repagination pass) and which lays out page
N+1 only when asked for the next page. `install()` wraps that generator:
inside `page_limit(limit)`, the wrapper counts the pages it hands on and
raises `PageLimitReached` as soon as page `limit + 1` exists, so a runaway
document (a result table of a million rows) costs at most `limit + 1`
pages of layout, never all of them. The exception travels up through
WeasyPrint's layout; render.py turns it into PdfTooManyPages.

Why the generator and not WeasyPrint's per-page progress log, which an
earlier version counted: a logging configuration can silence or disable
that logger (`disable_existing_loggers`, `logging.disable`), and the limit
was then enforced only after the whole layout. A call cannot be configured
away. It is still an internal name of WeasyPrint: `install()` refuses to run
without it (an upgrade that renames it fails every render and the tests,
loudly), and tests/core/utils/test_pdf_limits.py counts the pages laid out.

The limit is per render: a ContextVar, so threads (and tasks) rendering at
the same time each keep their own. Outside `page_limit`, the wrapper only
passes pages on (WeasyPrint used directly behaves as before).
"""

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import weasyprint.layout  # type: ignore[import-untyped]
from django.core.exceptions import ImproperlyConfigured

#: The attribute of weasyprint.layout that makes the pages.
PAGE_GENERATOR = "make_all_pages"

_limit: ContextVar[int | None] = ContextVar("pdf_page_limit", default=None)
_install_lock = threading.Lock()


class PageLimitReached(BaseException):
    """Raised inside WeasyPrint's layout to stop it. A BaseException, so that
    no `except Exception` in the layout code swallows it."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} pages")
        self.limit = limit


@contextmanager
def page_limit(limit: int) -> Iterator[None]:
    """Inside the block, WeasyPrint layout in this context raises
    PageLimitReached once page `limit + 1` is made."""
    install()
    token = _limit.set(limit)
    try:
        yield
    finally:
        _limit.reset(token)


def install() -> None:
    """Wrap WeasyPrint's page generator (once per process); see the module
    docstring. Raises ImproperlyConfigured when WeasyPrint has none."""
    with _install_lock:
        original = getattr(weasyprint.layout, PAGE_GENERATOR, None)
        if original is None:
            raise ImproperlyConfigured(
                f"weasyprint.layout.{PAGE_GENERATOR} is missing, so PDF page "
                "limits cannot stop the layout early; this WeasyPrint version "
                "needs core/utils/pdf/page_limit.py updated."
            )
        if not getattr(original, "_counts_pages", False):
            setattr(weasyprint.layout, PAGE_GENERATOR, _counting(original))


def _counting(original: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    @functools.wraps(original)
    def make_all_pages(*args: Any, **kwargs: Any) -> Iterator[Any]:
        limit = _limit.get()
        for number, page in enumerate(original(*args, **kwargs), start=1):
            if limit is not None and number > limit:
                raise PageLimitReached(limit)
            yield page

    make_all_pages._counts_pages = True  # type: ignore[attr-defined]
    return make_all_pages
