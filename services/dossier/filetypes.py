"""What a file really is, by its first bytes (and, for Office files, the ZIP parts inside)."""

from __future__ import annotations

import io
import zipfile

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

EXTENSIONS = {PDF: ".pdf", JPEG: ".jpg", PNG: ".png", DOCX: ".docx", XLSX: ".xlsx"}
ACCEPTED = tuple(EXTENSIONS)


def _ooxml_kind(data: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return None
    if "[Content_Types].xml" not in parts:
        return None
    if "word/document.xml" in parts:
        return DOCX
    if "xl/workbook.xml" in parts:
        return XLSX
    return None


def sniff(data: bytes) -> str | None:
    """The accepted content type of `data`, or None when it is none of them."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"PK\x03\x04"):
        return _ooxml_kind(data)
    return None
