"""PDF reports: rendered from templates with letterhead, page numbers and
watermark in the shipped fonts; nothing loaded from the network or from
outside the static and media folders; size and page limits; merge and stamp.

PDFs are checked by reading them back with pypdf: page count, text, fonts.
"""

import io
import logging
import os
import threading
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

import pytest
from django.core.exceptions import ImproperlyConfigured
from PIL import Image
from pypdf import PageObject, PdfReader, PdfWriter
from pypdf.generic import DictionaryObject, NumberObject
from pytest_django.fixtures import Settings
from weasyprint import HTML  # type: ignore[import-untyped]
from weasyprint.logger import LOGGER  # type: ignore[import-untyped]

from admin.account.models import Lab
from core.utils.image import UnsupportedImage
from core.utils.pdf import (
    Letterhead,
    PageSetup,
    PdfHtmlTooLarge,
    PdfResourceRefused,
    PdfTooManyPages,
    PdfUnreadable,
    html_to_pdf,
    merge_pdfs,
    overlay_pdf,
    render_pdf,
    stamp_pdf,
    weasyprint_logs,
)

pytestmark = pytest.mark.engine_independent

SHIPPED_FONTS = {
    "Noto-Sans",
    "Noto-Sans-Bold",
    "Noto-Sans-Arabic",
    "Noto-Sans-Arabic-Bold",
    "Noto-Sans-Devanagari",
    "Noto-Sans-Devanagari-Bold",
    "Noto-Sans-Math",
    "Noto-Sans-Math-Bold",  # the regular file, emboldened by pango
}
A4_PT = (595.3, 841.9)

REPORT = """{% extends "core/pdf/base_report.html" %}
{% block title %}Complete blood count{% endblock %}
{% block footer_note %}Report {{ number }}{% endblock %}
{% block content %}
<p>direction={{ pdf.direction }} language={{ pdf.language }}</p>
{% for section in sections %}
<section style="{% if not forloop.last %}break-after: page{% endif %}">
  <h1>{{ section }}</h1>
</section>
{% endfor %}
{% endblock %}
"""

#: A template that puts `resource` (HTML) in the body of a report.
WITH_RESOURCE = """{% extends "core/pdf/base_report.html" %}
{% block style %}{{ style|safe }}{% endblock %}
{% block content %}<p>Result</p>{{ resource|safe }}{% endblock %}
"""


@pytest.fixture
def templates(settings: Settings) -> None:
    """Report templates for the tests, beside the project's own."""
    settings.TEMPLATES = [
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "OPTIONS": {
                "loaders": [
                    (
                        "django.template.loaders.locmem.Loader",
                        {
                            "tests/report.html": REPORT,
                            "tests/resource.html": WITH_RESOURCE,
                        },
                    ),
                    "django.template.loaders.app_directories.Loader",
                ],
            },
        }
    ]


@pytest.fixture
def folders(settings: Settings, tmp_path: Path) -> Path:
    """STATIC_ROOT and MEDIA_ROOT in a temporary folder, with a file beside
    them that no report may read."""
    static, media = tmp_path / "static", tmp_path / "media"
    static.mkdir()
    media.mkdir()
    settings.STATIC_ROOT, settings.MEDIA_ROOT = str(static), str(media)
    (tmp_path / "secret.png").write_bytes(png(RED))
    return tmp_path


RED, BLUE = (255, 0, 0), (0, 0, 255)


def png(
    colour: tuple[int, ...], size: tuple[int, int] = (30, 10), mode: str = "RGB"
) -> bytes:
    output = io.BytesIO()
    Image.new(mode, size, colour).save(output, "PNG")
    return output.getvalue()


def read(pdf: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(pdf))


def texts(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in read(pdf).pages]


def font_names(pdf: bytes) -> set[str]:
    """The base names of the fonts in the PDF, without the subset prefix."""
    names = set()
    for page in read(pdf).pages:
        fonts = cast(DictionaryObject, page["/Resources"])["/Font"]
        for font in cast(DictionaryObject, fonts).values():
            base_font = cast(DictionaryObject, font.get_object())["/BaseFont"]
            names.add(str(base_font).split("+", 1)[-1])
    return names


def images(pdf: bytes) -> list[tuple[int, int]]:
    """(width, height) of each image drawn on the first page."""
    resources = cast(DictionaryObject, read(pdf).pages[0]["/Resources"])
    objects = cast(DictionaryObject, resources.get("/XObject", DictionaryObject()))
    found = []
    for item in objects.values():
        image = cast(DictionaryObject, item.get_object())
        if image["/Subtype"] == "/Image":
            width, height = image["/Width"], image["/Height"]
            found.append(
                (int(cast(NumberObject, width)), int(cast(NumberObject, height)))
            )
    return found


def size_pt(page: PageObject) -> tuple[float, float]:
    return (round(float(page.mediabox.width), 1), round(float(page.mediabox.height), 1))


def report(sections: Sequence[str] = ("Haemoglobin",), **options: Any) -> bytes:
    context = {"sections": sections, "number": "R-42"}
    return render_pdf("tests/report.html", context, **options)


# -- rendering ----------------------------------------------------------------
@pytest.mark.usefixtures("templates")
def test_a_one_page_report_has_letterhead_footer_and_page_number() -> None:
    letterhead = Letterhead("Central Lab", ("12 MG Road", "Pune 411001"))

    pdf = report(lab=letterhead)

    (page,) = texts(pdf)
    for expected in ("Central Lab", "12 MG Road", "Pune 411001", "Haemoglobin"):
        assert expected in page
    assert "Report R-42" in page
    assert "Page 1 of 1" in page
    assert pdf.startswith(b"%PDF-")


@pytest.mark.usefixtures("templates")
def test_header_footer_and_watermark_repeat_on_every_page() -> None:
    pdf = report(
        sections=("Haematology", "Biochemistry", "Serology"),
        lab=Letterhead("Central Lab"),
        watermark="DRAFT",
    )

    pages = texts(pdf)
    assert len(pages) == 3
    for number, (page, section) in enumerate(
        zip(pages, ("Haematology", "Biochemistry", "Serology"), strict=True), start=1
    ):
        assert section in page
        assert f"Page {number} of 3" in page
        assert "Central Lab" in page
        assert "Report R-42" in page
        assert "DRAFT" in page


@pytest.mark.usefixtures("templates")
def test_without_a_lab_there_is_no_letterhead_and_without_watermark_none() -> None:
    pdf = report(watermark="   ")

    (page,) = texts(pdf)
    assert "Central Lab" not in page
    assert "DRAFT" not in page
    assert "Page 1 of 1" in page


@pytest.mark.engine_independent(False)  # it saves a lab
@pytest.mark.usefixtures("templates")
def test_a_lab_gives_its_name_and_language(lab_factory: Callable[..., Lab]) -> None:
    lab = lab_factory("Dubai Central Lab", language="ar")

    pdf = report(lab=lab)

    (page,) = texts(pdf)
    assert "Dubai Central Lab" in page
    assert "direction=rtl language=ar" in page


@pytest.mark.engine_independent(False)  # it saves a lab
@pytest.mark.usefixtures("templates")
def test_an_explicit_language_wins_over_the_labs(
    lab_factory: Callable[..., Lab],
) -> None:
    lab = lab_factory("Dubai Central Lab", language="ar")

    (page,) = texts(report(lab=lab, language="hi"))

    assert "direction=ltr language=hi" in page


@pytest.mark.usefixtures("templates")
def test_arabic_and_hindi_are_drawn_with_the_shipped_fonts() -> None:
    pdf = report(sections=("هيموجلوبين", "हीमोग्लोबिन", "Glucose ≤ 5.5 µmol/L"))

    pages = texts(pdf)
    assert "هيموجلوبين" in pages[0]
    assert "हीमोग्लोबिन" in pages[1]
    used = font_names(pdf)
    assert {
        "Noto-Sans-Arabic-Bold",
        "Noto-Sans-Devanagari-Bold",
        "Noto-Sans-Math-Bold",
    } <= used
    assert used <= SHIPPED_FONTS  # nothing from the machine's fonts


@pytest.mark.usefixtures("templates")
def test_the_logo_is_embedded_scaled_down() -> None:
    logo = png(BLUE, size=(1200, 400), mode="RGBA")

    pdf = report(lab=Letterhead("Central Lab", logo=logo))

    assert images(pdf) == [(600, 200)]


@pytest.mark.usefixtures("templates")
def test_a_logo_that_is_not_an_image_is_refused() -> None:
    with pytest.raises(UnsupportedImage, match="not an image"):
        report(lab=Letterhead("Central Lab", logo=b"<svg></svg>"))


@pytest.mark.usefixtures("templates")
def test_page_size_and_orientation() -> None:
    pdf = report(page=PageSetup(size="A5", landscape=True, margin_top_mm=30))

    assert size_pt(read(pdf).pages[0]) == (595.3, 419.5)
    assert size_pt(read(report()).pages[0]) == A4_PT


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"size": "B5"}, "Page size 'B5' is not one of A3, A4, A5, letter, legal"),
        ({"margin_left_mm": -1}, r"margin_left_mm=-1 is not within 0\.\.100 mm"),
        ({"margin_top_mm": 150}, r"margin_top_mm=150 is not within 0\.\.100 mm"),
    ],
)
def test_page_setup_is_checked(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PageSetup(**options)


@pytest.mark.usefixtures("templates")
def test_the_pdf_context_key_is_reserved() -> None:
    with pytest.raises(ValueError, match="'pdf' is reserved"):
        render_pdf("tests/report.html", {"pdf": "mine"})


@pytest.mark.usefixtures("templates")
def test_a_watermark_is_a_short_text() -> None:
    with pytest.raises(ValueError, match="at most 40 characters"):
        report(watermark="PRELIMINARY RESULTS, NOT FOR CLINICAL DECISIONS")


# -- what a report may load ---------------------------------------------------
class TrapServer(ThreadingHTTPServer):
    """Records the path of every request it gets."""

    requests: list[str]


class Trap(BaseHTTPRequestHandler):
    """Records every request; a report must never make one."""

    def do_GET(self) -> None:
        cast(TrapServer, self.server).requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()
        self.wfile.write(png(RED))

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def trap() -> Iterator[TrapServer]:
    """A local HTTP server that records the requests it gets."""
    server = TrapServer(("127.0.0.1", 0), Trap)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def with_resource(resource: str = "", style: str = "") -> bytes:
    context = {"resource": resource, "style": style}
    return render_pdf("tests/resource.html", context)


def test_the_trap_records_requests(trap: TrapServer) -> None:
    # The control for the tests below: a request does reach it.
    url = f"http://127.0.0.1:{trap.server_address[1]}/ping"

    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.status == 200

    assert trap.requests == ["/ping"]


@pytest.mark.usefixtures("templates")
@pytest.mark.parametrize(
    ("resource", "style"),
    [
        ('<img src="{url}/logo.png">', ""),
        ("", '<link rel="stylesheet" href="{url}/report.css">'),
        ("", "<style>@import url({url}/more.css);</style>"),
        ('<div style="background-image: url({url}/bg.png)">x</div>', ""),
        (
            '<p style="font-family: Remote">x</p>',
            "<style>@font-face {{font-family: Remote; src: url({url}/f.ttf)}}</style>",
        ),
        ('<object data="{url}/chart.svg" type="image/svg+xml"></object>', ""),
    ],
    ids=["img", "stylesheet", "import", "background", "font", "object"],
)
def test_a_local_http_server_gets_no_request(
    trap: TrapServer, resource: str, style: str
) -> None:
    url = f"http://127.0.0.1:{trap.server_address[1]}"

    with pytest.raises(PdfResourceRefused, match="a http URL; reports load only"):
        with_resource(resource.format(url=url), style.format(url=url))

    assert trap.requests == []


@pytest.mark.usefixtures("templates")
@pytest.mark.parametrize(
    ("src", "refused_url", "why"),
    [
        ("https://example.com/logo.png", "https://example.com/logo.png", "a https URL"),
        ("ftp://example.com/logo.png", "ftp://example.com/logo.png", "a ftp URL"),
        ("file:///etc/passwd", "file:///etc/passwd", "outside the static and media"),
        (
            "file://fileserver/share/x.png",
            "file://fileserver/share/x.png",
            "another host",
        ),
    ],
)
def test_other_schemes_and_files_elsewhere_are_refused(
    src: str, refused_url: str, why: str
) -> None:
    with pytest.raises(PdfResourceRefused, match=why) as refused:
        with_resource(f'<img src="{src}">')

    assert refused.value.url == refused_url


@pytest.mark.usefixtures("templates")
def test_a_relative_path_escaping_static_is_refused(folders: Path) -> None:
    # Given a real image one folder above STATIC_ROOT.
    assert (folders / "secret.png").exists()

    with pytest.raises(PdfResourceRefused, match="outside the static and media"):
        with_resource('<img src="../secret.png">')


@pytest.mark.usefixtures("templates")
def test_a_symlink_out_of_static_is_refused(folders: Path) -> None:
    (folders / "static" / "logo.png").symlink_to(folders / "secret.png")

    with pytest.raises(PdfResourceRefused, match="link to a file outside"):
        with_resource('<img src="logo.png">')


@pytest.mark.usefixtures("templates")
def test_static_and_media_files_are_loaded(folders: Path) -> None:
    (folders / "static" / "stamp.png").write_bytes(png(RED, size=(31, 11)))
    (folders / "media" / "signature.png").write_bytes(png(BLUE, size=(33, 13)))
    media_url = (folders / "media" / "signature.png").as_uri()

    pdf = with_resource(f'<img src="stamp.png"><img src="{media_url}">')

    assert sorted(images(pdf)) == [(31, 11), (33, 13)]


@pytest.mark.usefixtures("templates", "folders")
def test_static_files_not_collected_are_found_in_the_apps() -> None:
    # STATIC_ROOT is empty (no collectstatic), yet the report's stylesheet and
    # fonts come from core/static/: the text is in Noto Sans.
    pdf = with_resource()

    assert "Noto-Sans" in font_names(pdf)


@pytest.mark.usefixtures("templates", "folders")
def test_a_missing_file_stops_the_report() -> None:
    with pytest.raises(PdfResourceRefused, match="does not exist") as refused:
        with_resource('<img src="core/img/no-such-logo.png">')

    assert refused.value.url.endswith("/static/core/img/no-such-logo.png")


@pytest.mark.usefixtures("templates")
def test_a_missing_media_file_stops_the_report(folders: Path) -> None:
    missing = (folders / "media" / "signatures" / "7.png").as_uri()

    with pytest.raises(PdfResourceRefused, match="does not exist") as refused:
        with_resource(f'<img src="{missing}">')

    assert refused.value.url == missing


@pytest.mark.usefixtures("templates")
def test_staticfiles_dirs_are_static_folders(folders: Path, settings: Settings) -> None:
    # Given two STATICFILES_DIRS entries, one with a URL prefix.
    plain, prefixed = folders / "assets", folders / "branding"
    plain.mkdir()
    prefixed.mkdir()
    (plain / "seal.png").write_bytes(png(RED, size=(21, 7)))
    (prefixed / "logo.png").write_bytes(png(BLUE, size=(23, 9)))
    settings.STATICFILES_DIRS = [str(plain), ("brand", str(prefixed))]

    pdf = with_resource(
        f'<img src="{(plain / "seal.png").as_uri()}"><img src="brand/logo.png">'
    )

    assert sorted(images(pdf)) == [(21, 7), (23, 9)]


@pytest.mark.usefixtures("templates")
def test_a_malformed_data_uri_stops_the_report() -> None:
    with pytest.raises(PdfResourceRefused, match="could not load a resource"):
        with_resource('<img src="data:image/png;base64,@@@not-base64@@@">')


def test_relative_urls_need_a_static_root(settings: Settings) -> None:
    settings.STATIC_ROOT = None

    with pytest.raises(ImproperlyConfigured, match="STATIC_ROOT must be set"):
        html_to_pdf("<p>x</p>")


def test_an_empty_media_root_is_not_the_current_directory(
    settings: Settings,
) -> None:
    # Django's default MEDIA_ROOT is "": it must not allow the working
    # directory (the project, with its settings) to be read.
    settings.MEDIA_ROOT = ""
    inside_project = Path("config/settings/base.py").resolve().as_uri()

    with pytest.raises(PdfResourceRefused, match="outside the static and media"):
        html_to_pdf(f'<link rel="stylesheet" href="{inside_project}">')


# -- limits -------------------------------------------------------------------
@pytest.mark.usefixtures("templates")
def test_html_over_the_size_limit_is_refused(settings: Settings) -> None:
    settings.PDF_MAX_HTML_BYTES = 20_000

    with pytest.raises(PdfHtmlTooLarge, match=r"over the limit of 20,000") as refused:
        report(sections=["x" * 100] * 300)

    assert refused.value.size_bytes > 20_000


@pytest.mark.usefixtures("templates")
def test_a_report_at_the_page_limit_renders(settings: Settings) -> None:
    settings.PDF_MAX_PAGES = 3

    assert len(read(report(sections=("a", "b", "c"))).pages) == 3


@pytest.mark.usefixtures("templates")
def test_layout_stops_at_the_first_page_past_the_limit(
    settings: Settings,
) -> None:
    settings.PDF_MAX_PAGES = 3

    with pytest.raises(PdfTooManyPages, match="more than 3 pages") as refused:
        report(sections=[f"Section {n}" for n in range(500)])

    assert refused.value.pages is None  # stopped during layout, not after


@pytest.mark.usefixtures("templates")
def test_layout_stops_early_whatever_the_logging_configuration(
    settings: Settings,
) -> None:
    # Given logging silenced altogether (an earlier early stop read
    # WeasyPrint's progress log, and was lost then),
    settings.PDF_MAX_PAGES = 3
    logging.disable(logging.CRITICAL)
    try:
        # when a report runs past the limit, then layout still stops there
        with pytest.raises(PdfTooManyPages, match="more than 3 pages") as refused:
            report(sections=[f"Section {n}" for n in range(5)])
    finally:
        logging.disable(logging.NOTSET)

    assert refused.value.pages is None


def test_progress_records_outside_reports_follow_the_usual_levels(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Rendering with WeasyPrint directly logs as before: per its ancestors' level.
    weasyprint_logs.install()

    with caplog.at_level(logging.INFO, logger="weasyprint"):
        HTML(string="<p>x</p>").write_pdf()
    progress = [r for r in caplog.records if r.name == "weasyprint.progress"]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        HTML(string="<p>x</p>").write_pdf()

    assert any("Creating layout" in r.getMessage() for r in progress)
    assert not [r for r in caplog.records if r.name == "weasyprint.progress"]


@pytest.mark.usefixtures("templates")
def test_a_report_leaves_the_progress_log_as_configured(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given WeasyPrint logging at WARNING, as settings.LOGGING has it, a
    # report makes no per-page progress lines (the page limit does not
    # raise that logger's level to read them).
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        report(sections=("a", "b"))

    assert not [r for r in caplog.records if r.name == "weasyprint.progress"]
    assert logging.getLogger("weasyprint.progress").level == logging.NOTSET


def test_the_fonttools_warning_is_logged_once_per_font(
    caplog: pytest.LogCaptureFixture,
) -> None:
    weasyprint_logs.install()
    message = 'Using fontTools instead of HarfBuzz-Subset for font "%s". Install it.'

    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        for family in ("Test Family A", "Test Family A", "Test Family B"):
            LOGGER.warning(message, family)

        LOGGER.warning("Failed to load image")
        LOGGER.warning("Failed to load image")

    logged = [r.getMessage() for r in caplog.records if r.name == "weasyprint"]
    assert logged == [
        message % "Test Family A",
        message % "Test Family B",
        "Failed to load image",
        "Failed to load image",
    ]


# -- merge, stamp, overlay ----------------------------------------------------
@pytest.fixture
def three_pages(templates: None) -> bytes:
    return report(sections=("Haematology", "Biochemistry", "Serology"))


def test_merge_keeps_every_page_in_order(three_pages: bytes, templates: None) -> None:
    one_page = report(sections=("Urine routine",))

    merged = merge_pdfs([one_page, three_pages])

    pages = texts(merged)
    assert len(pages) == 4
    assert "Urine routine" in pages[0]
    assert "Haematology" in pages[1]
    assert "Serology" in pages[3]


def test_merge_needs_a_pdf() -> None:
    with pytest.raises(ValueError, match="at least one PDF"):
        merge_pdfs([])


def test_merge_names_the_input_that_is_not_a_pdf(three_pages: bytes) -> None:
    with pytest.raises(PdfUnreadable, match="PDF 2 of 2 is not a readable PDF"):
        merge_pdfs([three_pages, b"Patient name,Result\n"])


def test_an_encrypted_pdf_is_refused(three_pages: bytes) -> None:
    writer = PdfWriter(clone_from=read(three_pages))
    writer.encrypt("secret")
    output = io.BytesIO()
    writer.write(output)

    with pytest.raises(PdfUnreadable, match="PDF 1 of 1 is encrypted"):
        merge_pdfs([output.getvalue()])


def test_a_pdf_without_pages_is_refused() -> None:
    output = io.BytesIO()
    PdfWriter().write(output)

    with pytest.raises(PdfUnreadable, match="The PDF to stamp has no pages"):
        stamp_pdf(output.getvalue(), "CORRECTED")


def test_stamp_writes_on_every_page_and_keeps_the_content(three_pages: bytes) -> None:
    stamped = stamp_pdf(three_pages, "CORRECTED")

    pages = texts(stamped)
    assert len(pages) == 3
    for page, section in zip(
        pages, ("Haematology", "Biochemistry", "Serology"), strict=True
    ):
        assert "CORRECTED" in page
        assert section in page
    assert "CORRECTED" not in texts(three_pages)[0]


@pytest.mark.usefixtures("templates")
def test_stamp_fits_pages_of_each_size(three_pages: bytes) -> None:
    landscape = report(sections=("Landscape",), page=PageSetup("A5", landscape=True))

    stamped = stamp_pdf(merge_pdfs([three_pages, landscape]), "CORRECTED")

    pages = read(stamped).pages
    assert [size_pt(page) for page in pages] == [A4_PT] * 3 + [(595.3, 419.5)]
    assert all("CORRECTED" in page.extract_text() for page in pages)


def test_stamp_turns_a_rotated_page_upright_first(three_pages: bytes) -> None:
    writer = PdfWriter(clone_from=read(three_pages))
    writer.pages[0].rotate(90)
    output = io.BytesIO()
    writer.write(output)

    stamped = read(stamp_pdf(output.getvalue(), "CORRECTED"))

    assert stamped.pages[0].rotation == 0
    assert size_pt(stamped.pages[0]) == (A4_PT[1], A4_PT[0])
    assert "CORRECTED" in stamped.pages[0].extract_text()


def test_stamp_in_arabic_uses_the_arabic_font(three_pages: bytes) -> None:
    stamped = stamp_pdf(three_pages, "مصحح")

    assert "Noto-Sans-Arabic-Bold" in font_names(stamped)


@pytest.mark.parametrize("text", ["", "   ", "C" * 41])
def test_a_stamp_is_a_short_text(text: str) -> None:
    with pytest.raises(ValueError, match="A stamp is 1 to 40 characters"):
        stamp_pdf(b"%PDF-", text)


def test_overlay_draws_a_page_over_every_page(three_pages: bytes) -> None:
    overlay = html_to_pdf(
        "<style>@page { size: 100mm 100mm; margin: 0 }</style><p>COPY FOR PATIENT</p>"
    )

    combined = overlay_pdf(three_pages, overlay)

    assert all("COPY FOR PATIENT" in page for page in texts(combined))
    assert [size_pt(page) for page in read(combined).pages] == [A4_PT] * 3


def test_overlay_refuses_an_overlay_that_is_not_a_pdf(three_pages: bytes) -> None:
    with pytest.raises(PdfUnreadable, match="The overlay PDF is not a readable PDF"):
        overlay_pdf(three_pages, os.urandom(64))
