"""The blobs of job outputs: one container per output id, a few files each, deterministic;
and containers whose blobs a ``layout`` gives (an iTwin's bucket, growing as jobs finish)."""

from __future__ import annotations

import base64
import hashlib
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from .content import Content

KiB = 1024
MiB = 1024 * KiB
#: Names and size ranges of every output's blobs; the last one takes the streaming path.
LAYOUT: tuple[tuple[str, int, int], ...] = (
    ("metadata.json", 200, 2 * KiB),
    ("tiles/0/0.b3dm", 4 * KiB, 40 * KiB),
    ("tiles/0/1.b3dm", 4 * KiB, 40 * KiB),
    ("tiles/1/0.b3dm", 4 * KiB, 40 * KiB),
    ("data/model.bin", MiB + 1, MiB + 256 * KiB),
)
_EPOCH = datetime(2024, 3, 1, tzinfo=timezone.utc)


class Blob:
    """One blob: its bytes, a strong quoted ETag and the base64 MD5 Azure reports."""

    def __init__(self, container: str, name: str, size: int, version: int = 0) -> None:
        self.container = container
        self.name = name
        self.version = version
        self.content = Content(f"blob:{container}/{name}:{version}", size)
        self._md5: str | None = None

    @property
    def size(self) -> int:
        """Length in bytes."""
        return self.content.size

    @property
    def etag(self) -> str:
        """A quoted ETag in Azure's form (``"0x8D..."``)."""
        digest = hashlib.blake2b(self.content.key.encode(), digest_size=7).hexdigest().upper()
        return f'"0x8D{digest}"'

    @property
    def sha256(self) -> str:
        """Hex sha256 of the body."""
        return self.content.sha256

    @property
    def md5(self) -> str:
        """Base64 MD5 of the body (``Content-MD5``)."""
        if self._md5 is None:
            digest = hashlib.md5(usedforsecurity=False)
            for chunk in self.content.chunks():
                digest.update(chunk)
            self._md5 = base64.b64encode(digest.digest()).decode()
        return self._md5

    @property
    def last_modified(self) -> datetime:
        """When this version was written (deterministic)."""
        return _EPOCH + timedelta(minutes=self.version)

    def chunks(self, start: int = 0, end: int | None = None) -> Iterator[memoryview]:
        """The bytes ``[start, end)``."""
        return self.content.chunks(start, end)


@dataclass(frozen=True)
class ExpectedBlob:
    """A blob of a job output, as a complete archive must hold it."""

    output_id: str
    name: str
    size: int
    sha256: str
    md5: str
    etag: str


Layout = Sequence[tuple[str, int, int]]


class BlobStore:
    """The containers of every produced job output (``containers()`` names them).

    ``layout(container)`` gives the blobs (name, size range) of a container whose content
    changes, or ``None`` for an output container (:data:`LAYOUT`, fixed).
    """

    def __init__(
        self,
        containers: Callable[[], Iterable[str]],
        layout: Callable[[str], Layout | None] = lambda _container: None,
    ) -> None:
        self._containers = containers
        self._layout = layout
        self._blobs: dict[str, dict[str, Blob]] = {}

    def exists(self, container: str) -> bool:
        """Whether ``container`` is the id of a produced output."""
        return container in set(self._containers())

    def blobs(self, container: str) -> dict[str, Blob]:
        """The blobs of ``container`` by name, sorted (empty if it does not exist)."""
        layout = self._layout(container)
        if layout is not None:
            return self._laid_out(container, layout)
        if container not in self._blobs:
            if not self.exists(container):
                return {}
            rng = random.Random(container)
            self._blobs[container] = {
                name: Blob(container, name, rng.randint(low, high)) for name, low, high in LAYOUT
            }
        return self._blobs[container]

    def _laid_out(self, container: str, layout: Layout) -> dict[str, Blob]:
        # Blobs already made keep their version (so change() sticks); gone ones are dropped.
        if not self.exists(container):
            return {}
        held = self._blobs.get(container, {})
        blobs = {}
        for name, low, high in layout:
            blob = held.get(name)
            if blob is None:
                blob = Blob(
                    container, name, random.Random(f"{container}/{name}").randint(low, high)
                )
            blobs[name] = blob
        self._blobs[container] = blobs
        return blobs

    def change(self, container: str, name: str) -> Blob:
        """Give blob ``name`` new bytes (same size) and a new ETag, as if rewritten."""
        old = self.blobs(container)[name]
        new = Blob(container, name, old.size, old.version + 1)
        self._blobs[container][name] = new
        return new

    def expected(self, containers: Iterable[str] | None = None) -> list[ExpectedBlob]:
        """Every blob of ``containers`` (default: all), with its size and hashes."""
        names = self._containers() if containers is None else containers
        return [
            ExpectedBlob(c, b.name, b.size, b.sha256, b.md5, b.etag)
            for c in names
            for b in self.blobs(c).values()
        ]
