"""The checksums of a body taken on the way: sha256 always, MD5 when there is one to check."""

from __future__ import annotations

import base64
import hashlib

from ..errors import IntegrityError


class Digest:
    """sha256 of a body, and its MD5 too when the server announced one to check against."""

    def __init__(self, md5: bool = False, data: bytes = b"") -> None:
        self._sha256 = hashlib.sha256()
        self._md5 = hashlib.md5(usedforsecurity=False) if md5 else None
        if data:
            self.update(data)

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self._sha256.update(data)
        if self._md5 is not None:
            self._md5.update(data)

    @property
    def takes_md5(self) -> bool:
        """Whether the MD5 is taken too."""
        return self._md5 is not None

    def fresh(self) -> Digest:
        """A new, empty digest of the same kinds."""
        return Digest(self._md5 is not None)

    def hexdigest(self) -> str:
        """The sha256, in hex."""
        return self._sha256.hexdigest()

    def md5_base64(self) -> str | None:
        """The MD5 as ``Content-MD5`` writes it, if it is taken."""
        return base64.b64encode(self._md5.digest()).decode() if self._md5 is not None else None


def check_md5(digest: Digest, expected: str | None, url: str) -> None:
    """Raise :class:`IntegrityError` unless the bytes hash to the announced ``Content-MD5``."""
    if expected is not None and digest.md5_base64() != expected:
        raise IntegrityError(
            f"Content-MD5 mismatch: the server announced {expected}, the bytes hash to"
            f" {digest.md5_base64()}",
            url=url,
        )
