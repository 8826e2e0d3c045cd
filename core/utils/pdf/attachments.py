"""Files a PDF carries: a released report's results as data (issue 16 point
5), embedded as PDF/A-3 associated files, so that any system reads the
values without parsing the page text (as e-invoices carry their XML).

- `PdfAttachment`: what render_pdf(..., attachments=[...]) embeds.
  WeasyPrint writes it as an embedded file; in a PDF/A-3 file
  (render_pdf(..., archival=True)) it is also listed in the catalog's /AF
  with its /AFRelationship (ISO 19005-3 §6.8, ISO 32000-2 §14.13).
- `attachments_of(pdf)`: name -> bytes, read back with pypdf.
- `copy_attachments(reader, writer)`: what merge_pdfs uses to keep every
  input's attachments (pypdf's append copies pages only), still
  associated with the document (/AF) and with their relationship.
"""

import io
from dataclasses import dataclass
from typing import Any, cast

from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

#: The relationships ISO 32000-2 §7.11.3 names for an associated file.
#: Data: the file holds the data the document shows (a report's results).
#: Source: the document was made from it.
RELATIONSHIPS = ("Data", "Source", "Alternative", "Supplement", "Unspecified")


@dataclass(frozen=True)
class PdfAttachment:
    """A file embedded in a PDF: its name (with the extension its media type
    is guessed from), content, description and relationship.

    Example: `PdfAttachment("report.fhir.json", body, "FHIR R4 results")`.
    """

    name: str
    content: bytes
    description: str = ""
    relationship: str = "Data"

    def __post_init__(self) -> None:
        if self.relationship not in RELATIONSHIPS:
            raise ValueError(
                f"Attachment relationship {self.relationship!r} is not one of "
                f"{', '.join(RELATIONSHIPS)}."
            )
        if not self.name or "/" in self.name:
            raise ValueError(
                f"Attachment name {self.name!r} must be a file name like "
                "'report.fhir.json'."
            )

    def for_weasyprint(self) -> Any:
        """The weasyprint.Attachment of this file."""
        # WeasyPrint loads in ~1 s; this module is imported without it.
        from weasyprint import Attachment  # type: ignore[import-untyped]

        return Attachment(
            file_obj=io.BytesIO(self.content),
            name=self.name,
            description=self.description or None,
            relationship=self.relationship,
        )


def attachments_of(pdf: bytes) -> dict[str, bytes]:
    """The files `pdf` carries, by name (the first of a name given twice).

    Example: `attachments_of(released)` -> `{"report.fhir.json": b"{...}"}`.
    """
    reader = PdfReader(io.BytesIO(pdf))
    return {name: contents[0] for name, contents in reader.attachments.items()}


def relationships_of(pdf: bytes) -> dict[str, str]:
    """Each attachment's /AFRelationship, for those the catalog's /AF lists
    (name -> "Data"); an attachment the catalog does not list is absent."""
    reader = PdfReader(io.BytesIO(pdf))
    listed = reader.root_object.get("/AF") or []
    found = {}
    for reference in listed:
        spec = cast(DictionaryObject, reference.get_object())
        name = str(spec.get("/UF") or spec.get("/F"))
        found[name] = str(spec.get("/AFRelationship", "/Unspecified"))[1:]
    return found


def copy_attachments(reader: PdfReader, writer: PdfWriter, taken: set[str]) -> None:
    """Embed `reader`'s attachments in `writer` with their media type,
    description and relationship, each listed in the catalog's /AF. A name
    already in `taken` (two merged reports each carry "report.fhir.json")
    gets a number: "report-2.fhir.json". `taken` is updated."""
    for source in reader.attachment_list:
        unique = _unique(source.name, taken)
        taken.add(unique)
        copy = writer.add_attachment(unique, source.content)
        copy.pdf_object[NameObject("/UF")] = TextStringObject(unique)
        if source.subtype:
            copy.subtype = NameObject(source.subtype)
        if source.description:
            copy.description = TextStringObject(source.description)
        copy.associated_file_relationship = NameObject(
            source.associated_file_relationship
        )
        listed = writer.root_object.setdefault(NameObject("/AF"), ArrayObject())
        listed.append(copy.pdf_object.indirect_reference)


def _unique(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    stem, dot, extension = name.partition(".")
    number = 2
    while f"{stem}-{number}{dot}{extension}" in taken:
        number += 1
    return f"{stem}-{number}{dot}{extension}"
