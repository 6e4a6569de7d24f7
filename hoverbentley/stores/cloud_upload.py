"""A streamed upload into an obstore store: one PUT when small, a multipart upload when not."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import anyio
import obstore
from obstore.exceptions import BaseError

from .azure_metadata import BlobMetadata
from .base import StoreError, UploadWatcher

if TYPE_CHECKING:
    from obstore import Attributes
    from obstore.store import ObjectStore

#: Body bytes gathered before one call into the uploader.
_BATCH = 1024 * 1024


class CloudUpload:
    """An :class:`~.base.Upload` that becomes one object when committed.

    Up to ``part_size`` bytes are held in memory; a file that stays within it is stored with
    one PUT carrying its metadata. A larger one goes out as a multipart upload in parts of
    ``part_size`` (at most ``concurrency`` in flight), completed only by :meth:`commit`, which
    then sets its metadata on Azure (S3 takes metadata only when an upload starts);
    :meth:`abort` and :meth:`restart` drop it, so nothing appears at the key.
    """

    def __init__(
        self,
        store: ObjectStore,
        key: str,
        part_size: int,
        concurrency: int,
        metadata: BlobMetadata | None,
        error: Callable[[BaseException, str, str], StoreError],
        watcher: UploadWatcher | None = None,
    ) -> None:
        self.name = key
        self._error = error
        self._watcher = watcher
        self._store = store
        self._metadata = metadata
        self._part_size = part_size
        self._concurrency = concurrency
        self._pending: list[bytes | memoryview] = []
        self._pending_size = 0
        self._size = 0
        self._writer: obstore.AsyncWritableFile | None = None

    @property
    def size(self) -> int:
        return self._size

    @property
    def multipart(self) -> bool:
        """Whether the upload went multipart (it outgrew one part)."""
        return self._writer is not None

    async def write(self, data: bytes | memoryview) -> None:
        try:
            await self._write(data)
        except (BaseError, OSError) as exc:
            raise self._error(exc, self.name, "write") from None

    async def _write(self, data: bytes | memoryview) -> None:
        self._size += len(data)
        self._pending.append(data)
        self._pending_size += len(data)
        if self._writer is None and self._pending_size <= self._part_size:
            return
        if self._writer is None:
            if self._watcher is not None:
                await self._watcher.opening(self.name)  # before the upload begins
            self._writer = obstore.open_writer_async(
                self._store,
                self.name,
                buffer_size=self._part_size,
                max_concurrency=self._concurrency,
            )
        if self._pending_size >= _BATCH:
            await self._flush()

    async def _flush(self) -> None:
        assert self._writer is not None
        data = b"".join(self._pending)
        self._pending, self._pending_size = [], 0
        await self._writer.write(data)
        if self._watcher is not None:
            await self._watcher.alive()

    async def restart(self) -> None:
        await self.abort()
        self._size = 0

    async def abort(self) -> None:
        """Drop the upload: buffered bytes and any parts already sent."""
        self._pending, self._pending_size = [], 0
        writer, self._writer = self._writer, None
        if writer is not None:
            with anyio.CancelScope(shield=True):
                try:
                    await writer.__aexit__(RuntimeError, RuntimeError("aborted"), None)
                finally:
                    self._closed(committed=False)

    def _closed(self, *, committed: bool) -> None:
        if self._watcher is not None:
            self._watcher.closed(self.name, committed=committed)

    async def commit(self, attributes: Mapping[str, str]) -> None:
        """Make the object visible at its key, whole, with ``attributes`` as its metadata."""
        try:
            await self._commit(attributes)
        except (BaseError, OSError) as exc:
            raise self._error(exc, self.name, "write") from None

    async def _commit(self, attributes: Mapping[str, str]) -> None:
        stored: Attributes = dict(attributes)
        if self._writer is None:
            data = b"".join(self._pending)
            self._pending, self._pending_size = [], 0
            await obstore.put_async(
                self._store, self.name, data, attributes=stored, use_multipart=False
            )
            return
        if self._pending:
            await self._flush()
        writer, self._writer = self._writer, None
        await writer.close()
        self._closed(committed=True)
        if self._metadata is not None:
            await self._metadata.set(self.name, stored)
