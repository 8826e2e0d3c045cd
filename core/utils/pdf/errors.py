"""What PDF rendering, merging and stamping raise.

Messages are for the engineer who wrote the template or the person who sent
the file: they say what was wrong and what would be right, and carry no
report content (which is patient data). Each names the setting of the limit
it reports.

Every error pickles with its fields (`__reduce__`): a report rendered in a
separate process (core.utils.forked) raises it again in the web process.
"""

from typing import Any


class PdfError(Exception):
    """A PDF could not be produced. Base of the classes below."""

    def _rebuilt_from(self, *args: Any) -> tuple[Any, ...]:
        # (class, constructor arguments, state): what pickle needs to make
        # this error again, notes included.
        return (type(self), args, self.__dict__ or None)


class PdfResourceRefused(PdfError):
    """The document asked for a resource the renderer will not load: a
    network URL (http, https, ftp, ...), a file outside the static and media
    folders (also through a symlink or `..`), or a file that does not exist.
    `url` is the address as the document gave it, resolved against its base
    URL, without query or fragment."""

    def __init__(self, message: str, url: str) -> None:
        super().__init__(message)
        self.url = url

    def __reduce__(self) -> tuple[Any, ...]:
        return self._rebuilt_from(str(self), self.url)


class PdfHtmlTooLarge(PdfError):
    """The rendered HTML is over settings.PDF_MAX_HTML_BYTES."""

    def __init__(self, size_bytes: int, limit_bytes: int) -> None:
        super().__init__(
            f"The report's HTML is {size_bytes:,} bytes, over the limit of "
            f"{limit_bytes:,} (settings.PDF_MAX_HTML_BYTES). Split the report, "
            "or embed smaller images."
        )
        self.size_bytes = size_bytes
        self.limit_bytes = limit_bytes

    def __reduce__(self) -> tuple[Any, ...]:
        return self._rebuilt_from(self.size_bytes, self.limit_bytes)


class PdfTooManyElements(PdfError):
    """The rendered HTML has more elements than the report's page limit
    allows: settings.PDF_MAX_HTML_ELEMENTS_PER_PAGE for each page it may
    have. Checked before WeasyPrint parses it (parsing, styling and building
    boxes cost time in proportion to the elements, before any page exists).
    """

    def __init__(self, elements: int, per_page: int, pages: int) -> None:
        limit = per_page * pages
        super().__init__(
            f"The report's HTML has {elements:,} elements; at most {limit:,} "
            f"are rendered ({per_page:,} per page, settings."
            f"PDF_MAX_HTML_ELEMENTS_PER_PAGE, for its limit of {pages} pages). "
            "Send fewer rows, or split it into several reports."
        )
        self.elements = elements
        self.per_page = per_page
        self.pages = pages

    def __reduce__(self) -> tuple[Any, ...]:
        return self._rebuilt_from(self.elements, self.per_page, self.pages)


class PdfContextTooLarge(PdfError):
    """A report's context (the client's JSON) is nested deeper than
    settings.PDF_MAX_CONTEXT_DEPTH or holds more values than
    settings.PDF_MAX_CONTEXT_VALUES_PER_PAGE allows for the report's page
    limit. `setting` names the limit."""

    def __init__(self, message: str, setting: str) -> None:
        super().__init__(message)
        self.setting = setting

    def __reduce__(self) -> tuple[Any, ...]:
        return self._rebuilt_from(str(self), self.setting)


class PdfTooManyPages(PdfError):
    """The document lays out to more than settings.PDF_MAX_PAGES pages.

    `pages` is the page count when the whole document was laid out, or None
    when layout was stopped at the first page past the limit.
    """

    def __init__(self, limit: int, pages: int | None = None) -> None:
        counted = f"{pages} pages" if pages is not None else f"more than {limit} pages"
        super().__init__(
            f"The report has {counted}; at most {limit} are rendered "
            "(settings.PDF_MAX_PAGES). Split it into several reports."
        )
        self.limit = limit
        self.pages = pages

    def __reduce__(self) -> tuple[Any, ...]:
        return self._rebuilt_from(self.limit, self.pages)


class PdfUnreadable(PdfError):
    """An input to merge_pdfs or stamp_pdf is not a PDF that can be read
    (not a PDF, damaged, or encrypted)."""
