"""What report rendering does with WeasyPrint's log records.

1. The page limit stops layout early. WeasyPrint has no hook between pages,
   and laying out a runaway document (a result table with a million rows)
   costs minutes before any page count is known. Its progress logger,
   though, reports each page as it is made ("Step 5 - Creating layout -
   Page %d"). A filter on that logger counts them for the render running in
   the current context (thread or task) and raises `PageLimitReached` at the
   first page past the limit; the exception travels up through WeasyPrint's
   layout, and render.py turns it into PdfTooManyPages. This relies on a
   log message a WeasyPrint release could change, so render.py also checks
   the page count of the finished layout: the limit holds either way, only
   the early stop would be lost.

   The progress logger's level is set to INFO (at each render, since a
   logging reconfiguration resets it) so that the records reach the filter.
   Outside a report render a record passes only when the logger's ancestors
   would have let it through before; during one, records are dropped (they
   are per-page noise).

2. "Using fontTools instead of HarfBuzz-Subset for font ..." is logged as a
   warning for every font of every PDF when the HarfBuzz subsetting library
   (Debian: libharfbuzz-subset0) is missing; it passes once per font and
   process. (Installing the library nearly halved the time of a one-page
   report here, 246 -> 137 ms: WeasyPrint subsets every embedded font for
   each PDF. Longer reports gain less; their time is layout.)

Both filters are installed once per process, on first use.
"""

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from weasyprint.logger import LOGGER, PROGRESS_LOGGER  # type: ignore[import-untyped]

#: The message WeasyPrint logs (with the page number) before laying out a page.
LAYOUT_PAGE_MESSAGE = "Step 5 - Creating layout - Page %d"
#: The start of WeasyPrint's warning when it subsets fonts with fontTools.
FONTTOOLS_SUBSET_WARNING = "Using fontTools instead of HarfBuzz-Subset"

_limit: ContextVar[int | None] = ContextVar("pdf_page_limit", default=None)
_install_lock = threading.Lock()
_installed = False


class PageLimitReached(BaseException):
    """Raised inside WeasyPrint's layout to stop it. A BaseException, so that
    no `except Exception` in the layout code swallows it."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} pages")
        self.limit = limit


class _CountPages(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        limit = _limit.get()
        if limit is None:
            parent = PROGRESS_LOGGER.parent
            return parent is None or record.levelno >= parent.getEffectiveLevel()
        if record.msg == LAYOUT_PAGE_MESSAGE and isinstance(record.args, tuple):
            page = record.args[0] if record.args else None
            if isinstance(page, int) and page > limit:
                raise PageLimitReached(limit)
        return False


class _OncePerProcess(logging.Filter):
    """Lets FONTTOOLS_SUBSET_WARNING through once per font family."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith(FONTTOOLS_SUBSET_WARNING):
            return True
        message = record.getMessage()
        if message in self.seen:
            return False
        self.seen.add(message)
        return True


@contextmanager
def page_limit(limit: int) -> Iterator[None]:
    """Inside the block, WeasyPrint layout in this context raises
    PageLimitReached at page `limit + 1`."""
    install()
    # Again on every render: a logging reconfiguration (dictConfig resets the
    # levels of existing child loggers, and settings.LOGGING sets
    # "weasyprint" to WARNING) would otherwise silence the page records.
    PROGRESS_LOGGER.setLevel(logging.INFO)
    token = _limit.set(limit)
    try:
        yield
    finally:
        _limit.reset(token)


def install() -> None:
    """Add the filters to WeasyPrint's loggers (once per process)."""
    global _installed
    with _install_lock:
        if not _installed:
            PROGRESS_LOGGER.addFilter(_CountPages())
            LOGGER.addFilter(_OncePerProcess())
            _installed = True
