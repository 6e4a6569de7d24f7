"""The :class:`Store` protocol every archive destination is written against, and its errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from ..errors import ArchiveWriteError, ConfigurationError


class StoreError(ArchiveWriteError):
    """A read or write of a store failed; the message names the store, the key and the cause."""


class StoreUnavailable(ConfigurationError, StoreError):
    """A store cannot be used: an unknown scheme, no account, no credentials, no bucket, a
    refused credential. A usage error (exit status 2 on the command line): no retry mends it.
    """


class PreconditionFailed(StoreError):
    """A conditional put lost: the object changed (or appeared) since it was read."""


@dataclass(frozen=True)
class ObjectInfo:
    """One object: its key under the store's prefix, size, ETag and (from ``stat``) metadata."""

    key: str
    size: int
    etag: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)


class Upload(Protocol):
    """A streamed put: bytes appended in order, visible at the key only after :meth:`commit`.

    It is a :class:`~hoverbentley._http.sink.Sink`: a download streams straight into it
    through a :class:`~hoverbentley._http.sink.SinkWriter`.
    """

    #: The key the object will have.
    name: str

    @property
    def size(self) -> int:
        """How many bytes were written so far."""
        ...

    async def write(self, data: bytes | memoryview) -> None:
        """Append ``data``."""
        ...

    async def restart(self) -> None:
        """Drop everything written so far; the next write is byte 0 again."""
        ...

    async def commit(self, attributes: Mapping[str, str]) -> None:
        """Make the object visible at its key, whole, with ``attributes`` as its metadata."""
        ...

    async def abort(self) -> None:
        """Drop the upload: nothing appears at the key."""
        ...


class UploadWatcher(Protocol):
    """Told about the multipart uploads of a store, so that a crashed run's can be found."""

    async def opening(self, key: str) -> None:
        """A multipart upload of ``key`` is about to begin (no part has been sent yet)."""
        ...

    async def alive(self) -> None:
        """Parts are being sent (called often: cheap unless something is due)."""
        ...

    def closed(self, key: str, *, committed: bool) -> None:
        """The upload of ``key`` was completed (``committed``) or aborted."""
        ...


class Store(Protocol):
    """A flat namespace of objects under a prefix: a directory, a bucket, a container.

    Keys are ``/``-separated and relative to the store's prefix. A missing object is
    ``None`` (never an error); every other failure raises :class:`StoreError`, whose
    message names :attr:`location` and the key, with no secret in it.
    """

    #: Where the store is, as shown to people (a directory, ``s3://bucket/prefix``).
    location: str

    async def stat(self, key: str) -> ObjectInfo | None:
        """Size, ETag and metadata of ``key``, or ``None`` if there is no such object."""
        ...

    def list(self, prefix: str = "") -> AsyncIterator[ObjectInfo]:
        """Every object whose key starts with ``prefix`` (without metadata), in no order."""
        ...

    async def read(self, key: str, start: int = 0, end: int | None = None) -> bytes | None:
        """Bytes ``start`` to ``end`` (exclusive; ``None``: the end) of ``key``, or ``None``."""
        ...

    def stream(self, key: str) -> AsyncIterator[bytes]:
        """The bytes of ``key`` in chunks (``FileNotFoundError`` if it does not exist)."""
        ...

    async def put(
        self,
        key: str,
        data: bytes,
        *,
        attributes: Mapping[str, str] | None = None,
        if_match: str | None = None,
        if_absent: bool = False,
    ) -> str | None:
        """Replace ``key`` with ``data`` in one request; return the new ETag, if known.

        ``if_match``: only if the object's ETag is still this one; ``if_absent``: only if
        there is no object yet. Otherwise :class:`PreconditionFailed`, and nothing changed.
        """
        ...

    def upload(
        self,
        key: str,
        *,
        part_size: int,
        concurrency: int,
        watcher: UploadWatcher | None = None,
    ) -> Upload:
        """A streamed put of ``key`` in parts of ``part_size`` (``concurrency`` in flight);
        ``watcher`` hears of it when it becomes a multipart upload and when it ends."""
        ...

    async def delete(self, key: str) -> None:
        """Remove ``key`` (no error if it does not exist)."""
        ...
