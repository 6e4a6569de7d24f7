"""A compressed body decompressed as it is read, a bounded piece at a time."""

from __future__ import annotations

import zlib
from typing import Any

from .failures import BodyEncodingError

#: The most bytes one call hands on: a small piece that decompresses to much more is read
#: out in steps, so memory follows what the reader takes, not the compression ratio.
STEP = 1024 * 1024
#: gzip members one body may hold (aiohttp's decoder reads every member too).
MAX_MEMBERS = 64

#: The content codings this reads, by the names a response may give them.
ENCODINGS = {"gzip": "gzip", "x-gzip": "gzip", "deflate": "deflate"}
#: What a request whose body is inflated asks for: those codings (``gzip, deflate``).
ACCEPT_ENCODING = ", ".join(dict.fromkeys(ENCODINGS.values()))


class Inflater:
    """Decompresses ``gzip`` (every member, one after another) or ``deflate`` (zlib-wrapped,
    or raw as some servers send it)."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._zlib: Any = None
        self._members = 0

    def inflate(self, data: bytes) -> tuple[bytes, bytes]:
        """At most :data:`STEP` bytes of what ``data`` decompresses to, and the part of
        ``data`` not used yet (to be given again)."""
        if self._zlib is None or (self._zlib.eof and self.encoding == "gzip"):
            self._members += 1
            if self._members > MAX_MEMBERS:
                raise BodyEncodingError(f"the gzip body has more than {MAX_MEMBERS} members")
            self._zlib = zlib.decompressobj(self._window(data))
        elif self._zlib.eof:
            return b"", b""  # after the end of a deflate stream: nothing more to read
        try:
            out = self._zlib.decompress(data, STEP)
        except zlib.error as exc:
            raise BodyEncodingError(f"the {self.encoding} body is corrupt ({exc})") from None
        rest = self._zlib.unconsumed_tail or (self._zlib.unused_data if self._zlib.eof else b"")
        return bytes(out), bytes(rest)

    def end(self) -> None:
        """The body ended: raise if it ended inside a compressed stream."""
        if self._zlib is not None and not self._zlib.eof:
            raise BodyEncodingError(f"the {self.encoding} body ended early")

    def _window(self, first: bytes) -> int:
        if self.encoding == "gzip":
            return 16 + zlib.MAX_WBITS
        # deflate is meant to be zlib-wrapped: a first byte whose low nibble is 8 says so.
        return zlib.MAX_WBITS if first[0] & 0x0F == 8 else -zlib.MAX_WBITS
