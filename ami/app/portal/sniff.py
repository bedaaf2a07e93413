"""What an uploaded file really is, from its first bytes, whatever its name or declared type says.

Accepted: PDF, ODT, DOCX, JPEG, PNG. ODT and DOCX are ZIP files: ODT's first entry is the stored
`mimetype` file naming the OpenDocument text type; a DOCX holds `[Content_Types].xml` and a
`word/document.xml`. Anything else (an executable renamed .pdf, an HTML page, an old .doc) is refused.
"""

from __future__ import annotations

import io
import zipfile
from enum import StrEnum


class Kind(StrEnum):
    PDF = "application/pdf"
    ODT = "application/vnd.oasis.opendocument.text"
    DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    JPEG = "image/jpeg"
    PNG = "image/png"


EXTENSIONS = {Kind.PDF: "pdf", Kind.ODT: "odt", Kind.DOCX: "docx", Kind.JPEG: "jpg", Kind.PNG: "png"}
ALLOWED_SUFFIXES = {"pdf": Kind.PDF, "odt": Kind.ODT, "docx": Kind.DOCX, "jpg": Kind.JPEG, "jpeg": Kind.JPEG, "png": Kind.PNG}
LABEL = "PDF, ODT, DOCX, JPEG ou PNG"


def sniff(data: bytes) -> Kind | None:
    if data.startswith(b"%PDF-"):
        return Kind.PDF
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return Kind.PNG
    if data.startswith(b"\xff\xd8\xff"):
        return Kind.JPEG
    if data.startswith(b"PK\x03\x04"):
        return _office(data)
    return None


def _office(data: bytes) -> Kind | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            if names and names[0] == "mimetype":
                declared = archive.read("mimetype")[:100].strip()
                return Kind.ODT if declared == Kind.ODT.value.encode() else None
            if "[Content_Types].xml" in names and "word/document.xml" in names:
                return Kind.DOCX
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, RuntimeError, NotImplementedError):
        return None
    return None


def check_upload(filename: str, data: bytes, limit: int) -> Kind | str:
    """The file's kind, or a French message saying why it is refused."""
    if not data:
        return f"« {filename} » est vide."
    if len(data) > limit:
        return f"« {filename} » dépasse la taille maximale ({limit // (1024 * 1024)} Mo)."
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    expected = ALLOWED_SUFFIXES.get(suffix)
    if expected is None:
        return f"« {filename} » : format non accepté ({LABEL} seulement)."
    found = sniff(data)
    if found is None or found is not expected:
        return f"« {filename} » n'est pas un vrai fichier {suffix.upper()} : son contenu ne correspond pas à son extension."
    return found
