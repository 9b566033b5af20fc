"""Where checked images live: a small storage interface, the filesystem under the data folder by default.

Content-addressed: an image is stored under its SHA-256, so the same photo uploaded twice is
stored once and a stored file can never be swapped for another behind the same id. A store also
says how many pixels an image it takes may have (`max_pixels`, PROCESSCAFE_MAX_IMAGE_PIXELS): the
limit that bounds the memory checking one upload needs (see `connectors.media`).
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

from connectors.media import DEFAULT_MAX_PIXELS

_KEY = re.compile(r"^[0-9a-f]{64}$")


class MediaStore(Protocol):
    max_pixels: int

    def put(self, key: str, content: bytes, variant: str = "original") -> None: ...
    def get(self, key: str, variant: str = "original") -> bytes | None: ...


class FileMediaStore:
    def __init__(self, root: Path, max_pixels: int = DEFAULT_MAX_PIXELS):
        if max_pixels < 1:
            raise ValueError("PROCESSCAFE_MAX_IMAGE_PIXELS must be a positive number of pixels")
        self.root = Path(root)
        self.max_pixels = max_pixels

    def _path(self, key: str, variant: str) -> Path:
        if not _KEY.match(key) or variant not in ("original", "thumbnail"):
            raise ValueError("not a media key")
        return self.root / key[:2] / f"{key}.{variant}"

    def put(self, key: str, content: bytes, variant: str = "original") -> None:
        path = self._path(key, variant)
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)  # atomic: readers see the whole file or none

    def get(self, key: str, variant: str = "original") -> bytes | None:
        try:
            return self._path(key, variant).read_bytes()
        except (FileNotFoundError, ValueError):
            return None
