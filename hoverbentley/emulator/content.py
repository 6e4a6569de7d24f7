"""Deterministic file bodies: of any size, cheap to slice and to hash, or given bytes."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator

BLOCK = 64 * 1024
#: Bytes handed to the socket per write.
CHUNK = 1024 * 1024


class Content:
    """The bytes of one file: a 64 KiB block derived from ``key``, repeated up to ``size``;
    or exactly ``data`` (a document), when given."""

    __slots__ = ("_sha256", "block", "data", "key", "size")

    def __init__(self, key: str, size: int, data: bytes | None = None) -> None:
        self.key = key
        self.data = data
        self.size = size if data is None else len(data)
        self.block = random.Random(key).randbytes(BLOCK) if data is None else b""
        self._sha256: str | None = None

    def chunks(self, start: int = 0, end: int | None = None) -> Iterator[memoryview]:
        """The bytes ``[start, end)`` in pieces of at most :data:`CHUNK`."""
        stop = self.size if end is None else min(end, self.size)
        if start >= stop:
            return
        if self.data is not None:
            window = memoryview(self.data)
            for pos in range(start, stop, CHUNK):
                yield window[pos : min(pos + CHUNK, stop)]
            return
        window = memoryview(self.block * (CHUNK // BLOCK + 2))
        pos = start
        while pos < stop:
            n = min(CHUNK, stop - pos)
            offset = pos % BLOCK
            yield window[offset : offset + n]
            pos += n

    def read(self, start: int = 0, end: int | None = None) -> bytes:
        """The bytes ``[start, end)`` as one object (for small files and tests)."""
        return b"".join(self.chunks(start, end))

    @property
    def sha256(self) -> str:
        """Hex sha256 of the whole body (computed once)."""
        if self._sha256 is None:
            digest = hashlib.sha256()
            for chunk in self.chunks():
                digest.update(chunk)
            self._sha256 = digest.hexdigest()
        return self._sha256

    @property
    def etag(self) -> str:
        """A strong ETag for this body."""
        digest = hashlib.blake2b(f"{self.key}:{self.size}".encode(), digest_size=10)
        if self.data is not None:
            digest.update(self.data)
        return f'"{digest.hexdigest()}"'
