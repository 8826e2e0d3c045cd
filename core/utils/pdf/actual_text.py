"""The text layer of a report: each line of text WeasyPrint draws is wrapped
in marked content carrying the line's text, `/Span <</ActualText (...)>>
BDC ... EMC` (ISO 32000-1 §14.9.4), so that a PDF reader copies, searches
and reads aloud what the line says, not what its glyphs map to.

Why: a font's glyph-to-text map (the ToUnicode CMap WeasyPrint writes)
gives each glyph one text. Devanagari clusters share glyphs (the half "र्"
of "शर्करा" is the reph drawn after its consonant; "ि" is drawn before
its consonant), and Arabic draws "لا" as one glyph, so that map cannot
give every word back: "शर्करा" extracted as "शर्ष रा" (issue 16 point 4).
ActualText replaces the glyphs' text with the text of the line they draw.
Lines in a right-to-left script are left to the glyph map (RTL_CLASSES
says why).

Why here, while WeasyPrint draws, and not on the finished PDF: a finished
PDF holds glyph ids and that lossy map only; the text of each line is known
only while it is laid out. WeasyPrint has no hook between its text layout
and its PDF stream, so `install()` wraps its `draw_first_line` (the
function that writes one line's glyphs), as page_limit.py wraps its page
generator: it refuses to run when the name is missing, so an upgrade that
renames it fails every render and the tests, loudly. The wrapper is
active only inside `actual_text()` (a ContextVar: render.py sets it for
our renders); WeasyPrint used directly draws as before.

Extractors that read no marked content (pypdf) still use the glyph map:
text_map.py rewrites it from these spans when the PDF is finished.
"""

import functools
import re
import threading
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import weasyprint.draw.text  # type: ignore[import-untyped]
from django.core.exceptions import ImproperlyConfigured

from core.utils.pdf.text_map import has_marks

#: The function of weasyprint.draw.text that draws one line of a text box.
LINE_DRAWER = "draw_first_line"
#: Runs of the spaces and line breaks layout leaves in a line's text;
#: a no-break space (U+00A0, U+202F) is kept, it is part of the text.
LAYOUT_SPACE = re.compile(r"[ \t\r\n\f]+")
#: The marked-content tag of a line's span (ISO 32000-1 §14.9.4: a Span
#: with ActualText).
SPAN_TAG = "Span"

#: Bidi classes of right-to-left letters. Lines holding them get no span:
#: poppler (pdftotext 22.12) lays an ActualText out left to right over the
#: span and then reverses it as right-to-left text, so an Arabic line came
#: out backwards; its glyph map gives Arabic back (joined forms map to
#: their letters).
RTL_CLASSES = frozenset({"R", "AL"})


class Spans:
    """What the spans of one render held: `marks` is True once a line with
    a combining mark (Devanagari's vowel signs and virama...) was drawn,
    the lines whose glyph map may be wrong (text_map.py fixes those)."""

    def __init__(self) -> None:
        self.marks = False


_active: ContextVar[Spans | None] = ContextVar("pdf_actual_text", default=None)
_install_lock = threading.Lock()


@contextmanager
def actual_text() -> Iterator[Spans]:
    """Inside the block, each line WeasyPrint draws in this context carries
    its text as ActualText; the Spans yielded say what they held."""
    install()
    spans = Spans()
    token = _active.set(spans)
    try:
        yield spans
    finally:
        _active.reset(token)


def pdf_text_string(text: str) -> bytes:
    """`text` as a PDF text string in UTF-16BE with its byte order mark,
    hex-encoded (ISO 32000-1 §7.9.2.2): any script, no escaping.

    Example: `pdf_text_string("Na")` -> b"<feff004e0061>".
    """
    return b"<feff" + text.encode("utf-16-be").hex().encode("ascii") + b">"


def _right_to_left(text: str) -> bool:
    """Whether `text` holds a right-to-left letter (Arabic, Hebrew...)."""
    return any(unicodedata.bidirectional(char) in RTL_CLASSES for char in text)


def install() -> None:
    """Wrap WeasyPrint's line drawer (once per process); see the module
    docstring. Raises ImproperlyConfigured when WeasyPrint has none."""
    with _install_lock:
        original = getattr(weasyprint.draw.text, LINE_DRAWER, None)
        if original is None:
            raise ImproperlyConfigured(
                f"weasyprint.draw.text.{LINE_DRAWER} is missing, so report text "
                "cannot carry ActualText; this WeasyPrint version needs "
                "core/utils/pdf/actual_text.py updated."
            )
        if not getattr(original, "_writes_actual_text", False):
            setattr(weasyprint.draw.text, LINE_DRAWER, _spanning(original))


def _spanning(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def draw_first_line(stream: Any, textbox: Any, *args: Any, **kwargs: Any) -> Any:
        text = LAYOUT_SPACE.sub(" ", str(textbox.text)).strip(" ")
        spans = _active.get()
        if spans is None or not text or _right_to_left(text):
            return original(stream, textbox, *args, **kwargs)
        spans.marks = spans.marks or has_marks(text)
        # The property list as bytes: pydyf writes bytes into the stream as is.
        properties = b"<</ActualText " + pdf_text_string(text) + b">>"
        stream.begin_marked_content(SPAN_TAG, properties)
        try:
            return original(stream, textbox, *args, **kwargs)
        finally:
            stream.end_marked_content()

    draw_first_line._writes_actual_text = True  # type: ignore[attr-defined]
    return draw_first_line
