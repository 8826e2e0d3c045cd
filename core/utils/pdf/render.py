"""Django templates to PDF through WeasyPrint, safely and within limits.

`render_pdf` renders a template that extends `core/pdf/base_report.html`
(letterhead and "Page N of M" repeated on every page, an optional watermark,
the project's fonts) in the report's language, then `html_to_pdf` turns the
HTML into a PDF:

- resources come only from data: URIs and the static and media folders
  (`ReportURLFetcher`); anything else stops the rendering with
  PdfResourceRefused;
- HTML over settings.PDF_MAX_HTML_BYTES (PdfHtmlTooLarge), or with more
  elements than settings.PDF_MAX_HTML_ELEMENTS_PER_PAGE per page of its
  page limit (PdfTooManyElements, limits.py), is refused before parsing;
- layout stops as soon as the page past the limit is made (page_limit.py):
  `max_pages` when the caller gives one (a report's own limit), never more
  than settings.PDF_MAX_PAGES (PdfTooManyPages);
- each line of text carries its text as ActualText (actual_text.py), so it
  extracts as it reads;
- `archival=True` makes a PDF/A-3b file (ARCHIVAL_VARIANT: embedded fonts,
  an sRGB output intent, XMP metadata) and `attachments` are embedded as
  its associated files (attachments.py): a released report carries its
  results as data.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe
from weasyprint import HTML  # type: ignore[import-untyped]
from weasyprint.urls import FatalURLFetchingError  # type: ignore[import-untyped]

from core.utils.image import open_image, thumbnail, to_data_uri
from core.utils.numbers import NumberStyle
from core.utils.pdf.actual_text import actual_text
from core.utils.pdf.attachments import PdfAttachment
from core.utils.pdf.errors import PdfHtmlTooLarge, PdfResourceRefused, PdfTooManyPages
from core.utils.pdf.fetcher import ReportURLFetcher, ResourceStop, static_base_url
from core.utils.pdf.limits import check_elements
from core.utils.pdf.page_limit import PageLimitReached, page_limit
from core.utils.pdf.text_map import fix_text_map
from core.utils.pdf.weasyprint_logs import install as install_log_filters
from core.utils.translation import REPORT_TEXTS, default_texts

if TYPE_CHECKING:
    from admin.account.models import Lab

#: Page sizes a report may use (CSS names).
PAGE_SIZES = ("A3", "A4", "A5", "letter", "legal")
#: The letterhead logo is scaled down to fit this box before embedding; it
#: prints at most 50 x 18 mm, so this is ~300 dpi.
LOGO_MAX_WIDTH_PX = 600
LOGO_MAX_HEIGHT_PX = 240
#: A watermark is a word or two ("DRAFT", "CORRECTED"), not a paragraph.
WATERMARK_MAX_CHARS = 40
#: The key under which render_pdf gives its template the report's frame.
FRAME_KEY = "pdf"
#: The PDF/A flavour of archived reports: PDF/A-3 allows embedded files of
#: any type (the results as JSON), level b (the page looks right; the
#: text layer is ours, actual_text.py).
ARCHIVAL_VARIANT = "pdf/a-3b"


@dataclass(frozen=True)
class Letterhead:
    """What the top of every page shows: the lab's name, its address lines
    and its logo (PNG, JPEG or WebP bytes, opened safely and embedded).

    Example: `Letterhead("Central Lab", ("12 MG Road", "Pune 411001"), logo)`.
    """

    name: str
    address_lines: tuple[str, ...] = ()
    logo: bytes | None = field(default=None, repr=False)

    @classmethod
    def for_lab(
        cls,
        lab: "Lab",
        *,
        address_lines: tuple[str, ...] = (),
        logo: bytes | None = None,
    ) -> "Letterhead":
        """The letterhead of `lab`: its name, with the address and logo the
        caller holds (a Lab has no address or logo fields)."""
        return cls(name=lab.name, address_lines=address_lines, logo=logo)

    def logo_data_uri(self) -> str | None:
        """The logo scaled to fit LOGO_MAX_* and encoded as a PNG data URI;
        raises core.utils.image.ImageError for a bad logo."""
        if self.logo is None:
            return None
        image = thumbnail(
            open_image(self.logo),
            max_width_px=LOGO_MAX_WIDTH_PX,
            max_height_px=LOGO_MAX_HEIGHT_PX,
        )
        return to_data_uri(image, "PNG")


@dataclass(frozen=True)
class PageSetup:
    """Paper size, orientation and margins. The letterhead prints in the top
    margin and the page footer in the bottom one, so those are the larger."""

    size: str = "A4"
    landscape: bool = False
    margin_top_mm: float = 40
    margin_bottom_mm: float = 20
    margin_left_mm: float = 15
    margin_right_mm: float = 15

    def __post_init__(self) -> None:
        if self.size not in PAGE_SIZES:
            raise ValueError(
                f"Page size {self.size!r} is not one of {', '.join(PAGE_SIZES)}."
            )
        for name in ("top", "bottom", "left", "right"):
            value = getattr(self, f"margin_{name}_mm")
            if not 0 <= value <= 100:
                raise ValueError(f"margin_{name}_mm={value} is not within 0..100 mm.")

    @property
    def css_size(self) -> str:
        """The CSS `size` value, e.g. "A4 landscape"."""
        return f"{self.size} {'landscape' if self.landscape else 'portrait'}"

    @property
    def css_margin(self) -> str:
        """The CSS `margin` value, e.g. "40mm 15mm 20mm 15mm"."""
        top, right = self.margin_top_mm, self.margin_right_mm
        bottom, left = self.margin_bottom_mm, self.margin_left_mm
        return " ".join(f"{value:g}mm" for value in (top, right, bottom, left))


@dataclass(frozen=True)
class ReportFrame:
    """What base_report.html and the report filters and tags
    (core/templatetags/lab_reports.py) read, under the key `pdf` of the
    context: the report's language and direction, its page, letterhead and
    watermark, its texts (every catalogue key, in the lab's wording where
    the caller gave it), and the lab it is for (None: none), with the lab's
    way of writing numbers and its time zone (Latin digits and UTC without
    one).
    """

    language: str
    direction: str
    page: PageSetup
    letterhead: Letterhead | None
    logo_src: str | None
    watermark: str | None
    texts: Mapping[str, str] = field(default_factory=dict, repr=False)
    lab_id: int | None = None
    numbers: NumberStyle = field(default_factory=NumberStyle)
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))

    @property
    def watermark_key(self) -> str | None:
        """The report text key of the watermark ("DRAFT" ->
        "watermark.draft"), so it prints in the report's language; None for
        a watermark the catalogue does not hold (printed as given)."""
        if self.watermark is None:
            return None
        key = f"watermark.{self.watermark.lower()}"
        return key if key in REPORT_TEXTS else None

    @property
    def page_number(self) -> SafeString:
        """Where the page number goes ("Page <this> of ..."), filled by CSS."""
        return mark_safe('<span class="page-number"></span>')

    @property
    def page_count(self) -> SafeString:
        """Where the page count goes, filled by CSS."""
        return mark_safe('<span class="page-count"></span>')


def render_pdf(
    template_name: str,
    context: Mapping[str, Any],
    *,
    lab: "Lab | Letterhead | None" = None,
    watermark: str | None = None,
    language: str | None = None,
    page: PageSetup | None = None,
    base_url: str | None = None,
    max_pages: int | None = None,
    texts: Mapping[str, str] | None = None,
    archival: bool = False,
    attachments: Sequence[PdfAttachment] = (),
) -> bytes:
    """The PDF of `template_name` rendered with `context`.

    - `lab`: a Lab (its name on the letterhead, its language for the report,
      its wording of report texts, its numbers and time zone) or a
      Letterhead (name, address, logo); None for no letterhead (paper with a
      printed one).
    - `watermark`: a short text across every page: "DRAFT" or "CORRECTED"
      print in the report's language (report texts "watermark.*"), any
      other text as given (the caller translates it).
    - `language`: the report's language (translations, `lang` and `dir`);
      by default the Lab's, else the active language.
    - `page`: size and margins (PageSetup(), A4 portrait, by default).
    - `base_url`: what relative URLs resolve against; STATIC_ROOT by default,
      so `href="core/pdf/report.css"` is that static file.
    - `max_pages`: the most pages (layout stops at the next one); at most,
      and by default, settings.PDF_MAX_PAGES.
    - `texts`: the report texts in the lab's wording in the report's
      language, `core.models.translation.lab_texts(lab.pk, language)`; None
      for the catalogue's. Given, not looked up here: this module reads no
      database (it runs in forked render processes, core/pdf_sync.py), so
      the caller, which has the lab, reads them before.
    - `archival`: a PDF/A-3b file (ARCHIVAL_VARIANT), for what is kept.
    - `attachments`: files to embed (PdfAttachment), associated files of
      the document when `archival`.

    The template receives `context` plus `pdf` (a ReportFrame). Raises
    PdfResourceRefused, PdfHtmlTooLarge, PdfTooManyElements or
    PdfTooManyPages (all PdfError).

    Example: `render_pdf("reports/cbc.html", {"report": report}, lab=lab,
    watermark="DRAFT")` -> b"%PDF-1.7 ..."
    """
    if FRAME_KEY in context:
        raise ValueError(
            f"The context key {FRAME_KEY!r} is reserved for the report frame; "
            "rename yours."
        )
    frame = _frame(lab, watermark, language, page or PageSetup(), texts)
    with translation.override(frame.language):
        html = render_to_string(template_name, {**context, FRAME_KEY: frame})
    return html_to_pdf(
        html,
        base_url=base_url,
        max_pages=max_pages,
        archival=archival,
        attachments=attachments,
    )


def html_to_pdf(
    html: str,
    *,
    base_url: str | None = None,
    max_pages: int | None = None,
    archival: bool = False,
    attachments: Sequence[PdfAttachment] = (),
) -> bytes:
    """The PDF of an HTML document, with render_pdf's limits and fetcher.

    For HTML that does not come from a template (the stamp overlay, a
    benchmark); `base_url`, `max_pages`, `archival` and `attachments` as
    in render_pdf.
    """
    limit: int = settings.PDF_MAX_PAGES
    if max_pages is not None:
        limit = min(max_pages, limit)
    size_bytes = len(html.encode("utf-8"))
    if size_bytes > settings.PDF_MAX_HTML_BYTES:
        raise PdfHtmlTooLarge(size_bytes, settings.PDF_MAX_HTML_BYTES)
    check_elements(html, limit)
    base_url = base_url or static_base_url()
    install_log_filters()
    try:
        with page_limit(limit):
            rendered = HTML(
                string=html, base_url=base_url, url_fetcher=ReportURLFetcher()
            ).render()
        with actual_text() as spans:
            # No target: the bytes are returned.
            pdf: bytes = rendered.write_pdf(
                pdf_variant=ARCHIVAL_VARIANT if archival else None,
                attachments=[item.for_weasyprint() for item in attachments],
            )
    except ResourceStop as stop:
        raise stop.error from None
    except PageLimitReached:
        raise PdfTooManyPages(limit) from None
    except FatalURLFetchingError as failure:
        # An allowed resource that could not be read (e.g. a malformed data:
        # URI); WeasyPrint names the URL, cut short in case it is a long URI.
        url = str(failure)[:200]
        raise PdfResourceRefused(
            f"The report could not load a resource: {url}", url=url
        ) from failure.__cause__
    if spans.marks:  # lines whose glyph map may be wrong: fix it
        pdf = fix_text_map(pdf)
    return pdf


def _frame(
    lab: "Lab | Letterhead | None",
    watermark: str | None,
    language: str | None,
    page: PageSetup,
    texts: Mapping[str, str] | None = None,
) -> ReportFrame:
    letterhead = lab if lab is None or isinstance(lab, Letterhead) else None
    if lab is not None and not isinstance(lab, Letterhead):
        letterhead = Letterhead.for_lab(lab)
        language = language or lab.language
    language = language or translation.get_language() or settings.LANGUAGE_CODE
    bidi = translation.get_language_info(language)["bidi"]
    watermark = " ".join((watermark or "").split()) or None
    if watermark is not None and len(watermark) > WATERMARK_MAX_CHARS:
        raise ValueError(
            f"A watermark is at most {WATERMARK_MAX_CHARS} characters, like "
            f"'DRAFT'; this one has {len(watermark)}."
        )
    return ReportFrame(
        language=language,
        direction="rtl" if bidi else "ltr",
        page=page,
        letterhead=letterhead,
        logo_src=letterhead.logo_data_uri() if letterhead else None,
        watermark=watermark,
        texts={**default_texts(language), **(texts or {})},
        **_lab_facts(lab, language),
    )


def _lab_facts(lab: "Lab | Letterhead | None", language: str) -> dict[str, Any]:
    """The frame's lab id, number style and zone for a Lab (none for a
    Letterhead or no lab: the frame's defaults). The lab's digits apply in
    the report's language, which a caller may choose: a lab writing native
    digits in Arabic writes Latin ones in an English report."""
    if lab is None or isinstance(lab, Letterhead):
        return {}
    numbers = NumberStyle.of(language, lab.digits)
    return {"lab_id": lab.pk, "numbers": numbers, "zone": lab.zone}
