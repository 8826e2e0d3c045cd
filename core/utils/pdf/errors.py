"""What PDF rendering, merging and stamping raise.

Messages are for the engineer who wrote the template or the person who sent
the file: they say what was wrong and what would be right, and carry no
report content (which is patient data).
"""


class PdfError(Exception):
    """A PDF could not be produced. Base of the classes below."""


class PdfResourceRefused(PdfError):
    """The document asked for a resource the renderer will not load: a
    network URL (http, https, ftp, ...), a file outside the static and media
    folders (also through a symlink or `..`), or a file that does not exist.
    `url` is the address as the document gave it, resolved against its base
    URL, without query or fragment."""

    def __init__(self, message: str, url: str) -> None:
        super().__init__(message)
        self.url = url


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


class PdfUnreadable(PdfError):
    """An input to merge_pdfs or stamp_pdf is not a PDF that can be read
    (not a PDF, damaged, or encrypted)."""
