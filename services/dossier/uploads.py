"""Reading uploaded files with the one size check every upload route shares."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Protocol

from services.core.problems import Problem


class FileField(Protocol):
    """What an uploaded file offers (werkzeug's FileStorage, or a test's stand-in)."""

    filename: str | None
    stream: IO[bytes]


@dataclass(frozen=True)
class Upload:
    """One uploaded file, read into memory: its form field, its name and its bytes."""

    field: str
    name: str | None
    data: bytes


def read_upload(field: str, upload: FileField, limit: int) -> Upload:
    """The file's bytes, reading no more than one byte past `limit`; 413 when over it."""
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        raise Problem("file_too_large", status=413, limit_bytes=limit)
    return Upload(field, upload.filename, data)


def read_uploads(files: Iterable[tuple[str, FileField]], limit: int) -> list[Upload]:
    """Every (field, file) pair of a multipart form, each within `limit` bytes."""
    return [read_upload(field, upload, limit) for field, upload in files]
