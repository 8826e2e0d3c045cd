"""Text extraction with tools we did not write, for the tests of issue 16
point 4: poppler's `pdftotext` (Debian's poppler-utils; scripts/test.sh
installs it) and pypdf.

A term is *intact* when the extracted text holds it character for
character, whitespace runs counted as one space (pdftotext pads table
columns with several). Nothing is normalised (no NFC or NFKC): a report's
text must come out as the lab typed it.
"""

import io
import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pypdf import PdfReader

#: pdftotext on a few report pages takes well under a second.
PDFTOTEXT_TIMEOUT_SECONDS = 30


def pdftotext(pdf: bytes) -> str:
    """The PDF's text as poppler's pdftotext gives it (UTF-8, its default
    reading-order mode)."""
    tool = shutil.which("pdftotext")
    if tool is None:
        raise RuntimeError(
            "pdftotext is missing: apt-get install poppler-utils "
            "(scripts/test.sh installs it)."
        )
    done = subprocess.run(  # noqa: S603 (a fixed tool, our own bytes on stdin)
        [tool, "-enc", "UTF-8", "-", "-"],
        input=pdf,
        capture_output=True,
        check=True,
        timeout=PDFTOTEXT_TIMEOUT_SECONDS,
    )
    return done.stdout.decode("utf-8")


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
            f"{language} {self.extractor}: {intact}/{len(self.terms)} "
            f"({self.rate:.1%})"
        )


def extract(pdf: bytes, terms: Sequence[str], extractor: str) -> Extraction:
    """Extract `pdf` with `extractor` and check each of `terms`."""
    text = squeezed(EXTRACTORS[extractor](pdf))
    missing = tuple(term for term in terms if term not in text)
    return Extraction(extractor, tuple(terms), missing, text)
