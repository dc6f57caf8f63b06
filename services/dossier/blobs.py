"""Where attachment bytes live: a tiny interface and its filesystem implementation.

Files are content-addressed by SHA-256, never stored under the client's file name.
An S3-compatible implementation can be added behind the same interface.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Protocol


class BlobStore(Protocol):
    def put(self, data: bytes) -> str:
        """Store `data`; return its SHA-256 (hex). Storing the same bytes twice is free."""
        ...

    def get(self, sha256: str) -> bytes:
        """The bytes stored under this digest; FileNotFoundError if none."""
        ...

    def exists(self, sha256: str) -> bool: ...


class FilesystemBlobStore:
    """Blobs under `root/ab/cd/<sha256>`, written atomically (temp file + rename)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise FileNotFoundError(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(digest)
        if path.exists():
            return digest
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def get(self, sha256: str) -> bytes:
        return self._path(sha256).read_bytes()

    def exists(self, sha256: str) -> bool:
        try:
            return self._path(sha256).exists()
        except FileNotFoundError:
            return False
