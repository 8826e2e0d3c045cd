"""What report rendering does with WeasyPrint's log records.

"Using fontTools instead of HarfBuzz-Subset for font ..." is logged as a
warning for every font of every PDF when the HarfBuzz subsetting library
(Debian: libharfbuzz-subset0) is missing; it passes once per font and
process. (Installing the library nearly halved the time of a one-page
report here, 246 -> 137 ms: WeasyPrint subsets every embedded font for each
PDF. Longer reports gain less; their time is layout.)

WeasyPrint's other records pass as logging is configured. (The page limit
no longer reads the per-page progress records: see page_limit.py.)

The filter is installed once per process, on first use.
"""

import logging
import threading

from weasyprint.logger import LOGGER  # type: ignore[import-untyped]

#: The start of WeasyPrint's warning when it subsets fonts with fontTools.
FONTTOOLS_SUBSET_WARNING = "Using fontTools instead of HarfBuzz-Subset"

_install_lock = threading.Lock()
_installed = False


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


def install() -> None:
    """Add the filter to WeasyPrint's logger (once per process)."""
    global _installed
    with _install_lock:
        if not _installed:
            LOGGER.addFilter(_OncePerProcess())
            _installed = True
