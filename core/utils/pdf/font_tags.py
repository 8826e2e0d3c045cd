"""Subset tags that name one font program each (ISO 32000-1 §9.6.4).

An embedded subset font is named "ABCDEF+NotoSans": six capital letters,
then the font. The standard asks that different subsets never share a tag
within one file. WeasyPrint derives the tag from the font's description
(family, weight, style), not from the subset, so every report it makes
names its Noto Sans subset alike: a merged batch (merge_pdfs) or a stamped
report (stamp_pdf: the stamp is a WeasyPrint page of its own) held
different subsets under one tag, and a reader that trusts tags may draw
one report's text with another's glyphs.

`retag_fonts(writer)` renames each subset font after a digest of its font
program: the same tag then means the same program, and different programs
get different tags (26^6 tags: a clash needs about 18,000 distinct
subsets in one file to be likely). compose.py runs it on every PDF it
writes.
"""

import hashlib
import re
from collections.abc import Iterator
from typing import cast

from pypdf import PdfWriter
from pypdf.generic import DictionaryObject, NameObject, StreamObject

#: A subset font's name: tag, "+", the font's name (ISO 32000-1 §9.6.4).
SUBSET_NAME = re.compile(r"^/([A-Z]{6})\+(.+)$")
#: Where a font descriptor keeps its program.
FONT_FILE_KEYS = ("/FontFile", "/FontFile2", "/FontFile3")
#: Letters of a tag.
TAG_LETTERS = 6


def retag_fonts(writer: PdfWriter) -> None:
    """Give every subset font of `writer`'s pages (and of the forms they
    draw) the tag of its font program; see the module docstring."""
    for font in _fonts(writer):
        descriptor = _descriptor(font)
        if descriptor is None:
            continue
        program = next(
            (descriptor[key] for key in FONT_FILE_KEYS if key in descriptor), None
        )
        if program is None:
            continue
        tag = program_tag(cast(StreamObject, program.get_object()).get_data())
        for holder, key in (
            (font, "/BaseFont"), (_descendant(font), "/BaseFont"),
            (descriptor, "/FontName"),
        ):  # fmt: skip
            if holder is None or key not in holder:
                continue
            match = SUBSET_NAME.match(str(holder[key]))
            if match:
                holder[NameObject(key)] = NameObject(f"/{tag}+{match[2]}")


def program_tag(program: bytes) -> str:
    """The six capital letters naming `program` (a font file's bytes).

    Example: `program_tag(b"...")` -> "QXKMBD".
    """
    digest = hashlib.sha256(program).digest()
    return "".join(chr(ord("A") + byte % 26) for byte in digest[:TAG_LETTERS])


def _fonts(writer: PdfWriter) -> Iterator[DictionaryObject]:
    """Each font dictionary the pages use, once, forms' resources included."""
    seen: set[int] = set()
    pending = [page.get("/Resources") for page in writer.pages]
    while pending:
        resources = pending.pop()
        if resources is None:
            continue
        resources = resources.get_object()
        if id(resources) in seen:
            continue
        seen.add(id(resources))
        for font in (resources.get("/Font") or DictionaryObject()).values():
            font = font.get_object()
            if id(font) not in seen:
                seen.add(id(font))
                yield font
        for xobject in (resources.get("/XObject") or DictionaryObject()).values():
            pending.append(xobject.get_object().get("/Resources"))


def _descendant(font: DictionaryObject) -> DictionaryObject | None:
    """A Type0 font's CIDFont (None for a simple font)."""
    descendants = font.get("/DescendantFonts")
    return descendants[0].get_object() if descendants else None


def _descriptor(font: DictionaryObject) -> DictionaryObject | None:
    holder = _descendant(font) or font
    descriptor = holder.get("/FontDescriptor")
    return descriptor.get_object() if descriptor is not None else None
