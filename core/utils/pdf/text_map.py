"""The glyph-to-text map of a finished report rewritten from its ActualText
spans, for text extractors that read no marked content (pypdf, and many
search indexers): each word of a span that holds a combining mark, or
whose glyphs do not map to it, gets glyph codes of its own, the last
mapping to the whole word and the others to nothing, so that the map
gives the word back in any context. (The last, not the first: pypdf
writes a space where a word's glyphs are moved apart, as a reph is, and
that space must fall before the word, not inside it. Words with marks
are remapped even when their map is right for that reason.)

Why: a font's ToUnicode CMap (ISO 32000-1 §9.10.3) maps each glyph code to
one text; WeasyPrint writes the glyph id as the code (Identity-H), so a
Devanagari glyph that several clusters share maps to one of them only
("शर्करा" came out of pypdf as "शर्ष रा"). A CID font may draw one glyph
under several codes (its CIDToGIDMap, §9.7.4.2), each with its own text;
this module adds such codes. The page looks the same (same glyphs, same
widths); pdftotext, which reads ActualText (actual_text.py), gives the
same text as before.

Only lines WeasyPrint drew with a span (actual_text.py) are touched, and
only those words: a report without combining marks (Latin, Arabic) is
not even parsed (render.py asks actual_text's Spans).

pikepdf does the work, on purpose, where the rest of the package uses
pypdf: this is the one place that parses and rewrites content streams, and
qpdf's parser (C++) does a page in a few milliseconds where pypdf's took
60 ms, which made a ten-page Hindi report 40% slower (bench_pdf). The
content streams of the pages that need it are parsed and written again,
and each font gets a CIDToGIDMap stream, /W widths and ToUnicode entries
for its new codes.
"""

import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import pikepdf

#: Codes are two bytes (Identity-H): at most 65,536 per font. A font out of
#: codes leaves the remaining words as WeasyPrint mapped them (their
#: ActualText still holds them). A remapped word takes one code per glyph
#: the first time it is seen, none after.
MAX_CODE = 0xFFFF
#: A bfchar entry of a ToUnicode CMap as WeasyPrint writes it.
BFCHAR = re.compile(rb"<([0-9a-fA-F]{4})>\s*<([0-9a-fA-F]*)>")
#: The CMap WeasyPrint writes, with our entries in its place.
CMAP_HEAD = (
    b"/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
    b"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
    b"/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
    b"1 begincodespacerange\n<0000> <ffff>\nendcodespacerange\n"
)
CMAP_TAIL = b"endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
#: The most entries of one bfchar block (PostScript's limit is 100).
BFCHAR_BLOCK = 100


def fix_text_map(pdf: bytes) -> bytes:
    """`pdf` (a WeasyPrint PDF with ActualText spans) with new glyph codes
    for the words its glyph map gives back wrong; `pdf` itself when none.
    """
    with pikepdf.open(io.BytesIO(pdf)) as document:
        fonts: dict[tuple[int, int], _Font] = {}
        changed = False
        for page in document.pages:
            changed |= _fix_page(page, document, fonts)
        if not changed:
            return pdf
        for font in fonts.values():
            font.write(document)
        output = io.BytesIO()
        document.save(output)
    return output.getvalue()


@dataclass
class _Font:
    """A Type0 font of the document: its glyph map, and the codes added."""

    dictionary: pikepdf.Dictionary
    texts: dict[int, str]
    widths: dict[int, Any]
    next_code: int
    added: dict[tuple[int, str], int] = field(default_factory=dict)
    glyph_of: dict[int, int] = field(default_factory=dict)

    @classmethod
    def of(cls, dictionary: pikepdf.Dictionary) -> "_Font | None":
        """The font, or None for one this module cannot extend (not a
        CIDFontType2 with an identity map and a ToUnicode CMap)."""
        if dictionary.get("/Subtype") != "/Type0" or "/ToUnicode" not in dictionary:
            return None
        cid_font = dictionary.DescendantFonts[0]
        if cid_font.get("/CIDToGIDMap") != "/Identity":
            return None
        texts = {
            int(code, 16): bytes.fromhex(text.decode()).decode("utf-16-be")
            for code, text in BFCHAR.findall(dictionary.ToUnicode.read_bytes())
        }
        widths = _widths(cast(pikepdf.Array, cid_font.get("/W", pikepdf.Array())))
        top = max([*texts, *widths, 0])
        return cls(dictionary, texts, widths, next_code=top + 1)

    def code_for(self, glyph: int, text: str) -> int:
        """A code drawing `glyph` and mapping to `text` (added once)."""
        glyph = self.glyph_of.get(glyph, glyph)
        if self.texts.get(glyph) == text:
            return glyph
        if (glyph, text) not in self.added:
            code = self.next_code
            self.next_code += 1
            self.added[glyph, text] = code
            self.glyph_of[code] = glyph
            self.texts[code] = text
            self.widths[code] = self.widths.get(glyph, 0)
        return self.added[glyph, text]

    def has_room(self, codes: int) -> bool:
        """Whether `codes` more codes fit in the two bytes of a code."""
        return self.next_code + codes <= MAX_CODE + 1

    def write(self, document: pikepdf.Pdf) -> None:
        """Put the added codes in the font: CIDToGIDMap, /W and ToUnicode."""
        if not self.added:
            return
        cid_font = self.dictionary.DescendantFonts[0]
        mapping = b"".join(
            self.glyph_of.get(code, code).to_bytes(2, "big")
            for code in range(self.next_code)
        )
        cid_font.CIDToGIDMap = document.make_stream(mapping)
        widths = pikepdf.Array()
        for code in sorted(self.widths):
            widths.extend(pikepdf.Array([code, pikepdf.Array([self.widths[code]])]))
        cid_font.W = widths
        self.dictionary.ToUnicode = document.make_stream(_cmap(self.texts))


def _fix_page(
    page: pikepdf.Page, document: pikepdf.Pdf, fonts: dict[tuple[int, int], _Font]
) -> bool:
    names = page.obj.get("/Resources", pikepdf.Dictionary()).get("/Font")
    if names is None:
        return False
    by_name: dict[str, _Font | None] = {}
    for name, dictionary in names.items():
        key = dictionary.objgen
        if key not in fonts:
            font = _Font.of(cast(pikepdf.Dictionary, dictionary))
            if font is None:
                by_name[name] = None
                continue
            fonts[key] = font
        by_name[name] = fonts[key]
    operations = pikepdf.parse_content_stream(page)
    edits: list[tuple[int, list[Any]]] = []
    changed = False
    for span, glyphs in _spans(operations, by_name, edits):
        changed |= _remap(span, glyphs)
    if changed:
        show = pikepdf.Operator("TJ")
        for number, items in edits:
            strings = [
                pikepdf.String(item) if isinstance(item, bytes) else item
                for item in items
            ]
            operations[number] = pikepdf.ContentStreamInstruction(
                [pikepdf.Array(strings)], show
            )
        page.obj.Contents = document.make_stream(
            pikepdf.unparse_content_stream(operations)
        )
    return changed


#: A glyph drawn in a span: its font, its code, and where the code sits
#: (the TJ operands, the index of its string, the offset in the string).
_Glyph = tuple[_Font, int, list[Any], int, int]


def _spans(
    operations: list[Any],
    fonts: dict[str, "_Font | None"],
    edits: list[tuple[int, list[Any]]],
) -> Iterator[tuple[str, list[_Glyph]]]:
    """Each ActualText span's text and the glyphs drawn inside it. Each TJ
    in a span is added to `edits` (its index and its items, strings as
    bytes), where _remap writes new codes."""
    font: _Font | None = None
    span: str | None = None
    depth = 0
    glyphs: list[_Glyph] = []
    for number, (operands, operator) in enumerate(operations):
        name = str(operator)
        if name == "Tf":
            font = fonts.get(str(operands[0]))
        elif name in ("BDC", "BMC"):
            depth += 1
            properties = operands[1] if name == "BDC" else None
            if span is None and isinstance(properties, pikepdf.Dictionary):
                actual = properties.get("/ActualText")
                if actual is not None:
                    span, depth, glyphs = str(actual), 1, []
        elif name == "EMC":
            depth -= 1
            if span is not None and depth == 0:
                yield span, glyphs
                span = None
        elif name == "TJ" and span is not None and font is not None:
            items = [
                bytes(item) if isinstance(item, pikepdf.String) else item
                for item in operands[0]
            ]
            edits.append((number, items))
            for index, item in enumerate(items):
                if isinstance(item, bytes):
                    for offset in range(0, len(item) - 1, 2):
                        code = int.from_bytes(item[offset : offset + 2], "big")
                        glyphs.append((font, code, items, index, offset))


def _remap(text: str, glyphs: list[_Glyph]) -> bool:
    """Give the words of `text` whose glyphs may extract wrong codes of
    their own; whether any code changed. Words are split at space glyphs;
    a span whose spaces do not split it into its words is one word."""
    words = text.split(" ")
    groups: list[list[_Glyph]] = [[]]
    for glyph in glyphs:
        if glyph[0].texts.get(glyph[1], "").isspace():
            groups.append([])
        else:
            groups[-1].append(glyph)
    groups = [group for group in groups if group]
    if len(groups) != len(words):
        groups, words = [glyphs], [text]
    changed = False
    for word, group in zip(words, groups, strict=True):
        mapped = "".join(font.texts.get(code, "") for font, code, *_ in group)
        if mapped == word and not has_marks(word):
            continue
        if not all(font.has_room(len(group)) for font, *_ in group):
            continue  # out of codes (a huge report): the word keeps its map
        last = len(group) - 1
        for number, (font, code, items, index, offset) in enumerate(group):
            new = font.code_for(code, word if number == last else "")
            string = bytearray(items[index])
            string[offset : offset + 2] = new.to_bytes(2, "big")
            items[index] = bytes(string)
        changed = True
    return changed


def has_marks(text: str) -> bool:
    """Whether `text` holds a combining mark (Devanagari's vowel signs and
    virama...): its glyphs may be drawn out of order or moved apart, and
    extractors that place text by glyph positions split or reorder it, even
    where the map is right."""
    return any(
        unicodedata.combining(char) or unicodedata.category(char) == "Mc"
        for char in text
    )


def _widths(array: pikepdf.Array) -> dict[int, Any]:
    """A CIDFont's /W array as code -> width (both of its forms)."""
    widths: dict[int, Any] = {}
    index = 0
    while index < len(array):
        first = int(array[index])
        following = array[index + 1]
        if isinstance(following, pikepdf.Array):
            for offset, width in enumerate(following):
                widths[first + offset] = width
            index += 2
        else:
            for code in range(first, int(following) + 1):
                widths[code] = array[index + 2]
            index += 3
    return widths


def _cmap(texts: dict[int, str]) -> bytes:
    """A ToUnicode CMap with `texts` (code -> text; "" maps to nothing)."""
    entries = [
        b"<%04x> <%s>" % (code, text.encode("utf-16-be").hex().encode())
        for code, text in sorted(texts.items())
    ]
    blocks = []
    for start in range(0, len(entries), BFCHAR_BLOCK):
        block = entries[start : start + BFCHAR_BLOCK]
        blocks.append(b"%d beginbfchar\n" % len(block))
        blocks.append(b"\n".join(block) + b"\nendbfchar\n")
    return CMAP_HEAD + b"".join(blocks) + CMAP_TAIL
