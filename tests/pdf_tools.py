"""PDF checks with tools we did not write (issue 16 points 4 and 5):
poppler's `pdftotext` and `pdftoppm` (Debian's poppler-utils), `qpdf`
(scripts/test.sh installs both) and pypdf.

- `pdftotext`, `pypdf_text`, `extract`: text extraction, and which terms
  came back intact;
- `qpdf_check`: qpdf's structural check of a file;
- `page_png`: a page rendered by poppler, to compare pictures;
- `font_tag_clashes`: subset tags shared by different font programs
  (ISO 32000-1 §9.6.4), read with pypdf.

A term is *intact* when the extracted text holds it character for
character, whitespace runs counted as one space (pdftotext pads table
columns with several). Nothing is normalised (no NFC or NFKC): a report's
text must come out as the lab typed it.
"""

import hashlib
import io
import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pypdf import PdfReader

#: Each tool on a few report pages takes well under a second.
TOOL_TIMEOUT_SECONDS = 60
#: The Debian package of each tool.
PACKAGES = {"pdftotext": "poppler-utils", "pdftoppm": "poppler-utils", "qpdf": "qpdf"}


def run_tool(
    name: str, *args: str, stdin: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    """Run tool `name` with `args` (its exit status is the caller's to read)."""
    tool = shutil.which(name)
    if tool is None:
        raise RuntimeError(
            f"{name} is missing: apt-get install {PACKAGES[name]} "
            "(scripts/test.sh installs it)."
        )
    return subprocess.run(
        [tool, *args],
        input=stdin,
        capture_output=True,
        check=False,
        timeout=TOOL_TIMEOUT_SECONDS,
    )


def pdftotext(pdf: bytes) -> str:
    """The PDF's text as poppler's pdftotext gives it (UTF-8, its default
    reading-order mode)."""
    done = run_tool("pdftotext", "-enc", "UTF-8", "-", "-", stdin=pdf)
    done.check_returncode()
    return done.stdout.decode("utf-8")


def qpdf_check(pdf: bytes, folder: Path) -> tuple[int, str]:
    """qpdf --check of `pdf` (written under `folder`): its exit status (0:
    no errors, 3: warnings) and what it printed."""
    path = folder / "checked.pdf"
    path.write_bytes(pdf)
    done = run_tool("qpdf", "--check", str(path))
    return done.returncode, (done.stdout + done.stderr).decode()


def page_png(pdf: bytes, page: int = 1, dpi: int = 50) -> bytes:
    """Page `page` of `pdf` as poppler draws it, a PNG at `dpi`."""
    done = run_tool(
        "pdftoppm", "-png", "-r", str(dpi), "-f", str(page), "-l", str(page),
        "-singlefile", "-", stdin=pdf,
    )  # fmt: skip
    done.check_returncode()
    return done.stdout


def font_tag_clashes(pdf: bytes) -> dict[str, set[str]]:
    """Subset tags ("ABCDEF" of "ABCDEF+NotoSans") that name more than one
    font program, each with the digests of its programs ({} when none)."""
    programs: dict[str, set[str]] = {}
    for descriptor in _font_descriptors(PdfReader(io.BytesIO(pdf))):
        name = str(descriptor.get("/FontName", ""))
        match = re.match(r"^/([A-Z]{6})\+", name)
        font_file = next(
            (descriptor[k] for k in ("/FontFile", "/FontFile2", "/FontFile3")
             if k in descriptor), None,
        )  # fmt: skip
        if match and font_file is not None:
            data = font_file.get_object().get_data()
            programs.setdefault(match[1], set()).add(hashlib.sha256(data).hexdigest())
    return {tag: found for tag, found in programs.items() if len(found) > 1}


def _font_descriptors(reader: PdfReader) -> list[Any]:
    """Every font descriptor in the file: each object by number, not by
    walking the pages, so that none is missed."""
    found = []
    for number in range(1, int(reader.trailer["/Size"])):
        try:
            item = reader.get_object(number)
        except (KeyError, ValueError):  # a free object number
            continue
        if isinstance(item, dict) and item.get("/Type") == "/FontDescriptor":
            found.append(item)
    return found


def pypdf_text(pdf: bytes) -> str:
    """The PDF's text as pypdf's extract_text gives it (plain mode)."""
    pages = PdfReader(io.BytesIO(pdf)).pages
    return "\n".join(page.extract_text() for page in pages)


#: The extractors by name, in the order reports print them.
EXTRACTORS: dict[str, Callable[[bytes], str]] = {
    "pdftotext": pdftotext,
    "pypdf": pypdf_text,
}


def squeezed(text: str) -> str:
    """`text` with each run of spaces and tabs as one space."""
    return re.sub(r"[ \t]+", " ", text)


@dataclass(frozen=True)
class Extraction:
    """Which of `terms` one extractor gave back intact from one PDF."""

    extractor: str
    terms: tuple[str, ...]
    missing: tuple[str, ...]
    text: str

    @property
    def rate(self) -> float:
        """The share of terms intact, 0.0 to 1.0."""
        return 1 - len(self.missing) / len(self.terms)

    def summary(self, language: str) -> str:
        """One line for the test log, e.g. `hi pdftotext: 46/46 (100.0%)`."""
        intact = len(self.terms) - len(self.missing)
        return (
            f"{language} {self.extractor}: {intact}/{len(self.terms)} ({self.rate:.1%})"
        )


def extract(pdf: bytes, terms: Sequence[str], extractor: str) -> Extraction:
    """Extract `pdf` with `extractor` and check each of `terms`."""
    text = squeezed(EXTRACTORS[extractor](pdf))
    missing = tuple(term for term in terms if term not in text)
    return Extraction(extractor, tuple(terms), missing, text)
