"""The :class:`~.base.Store` of S3 and Azure Blob Storage, on obstore.

obstore (Rust's ``object_store``) gives one async interface to the clouds: streamed
multipart uploads with abort, ranged reads, listing, conditional puts. Credentials come from
each cloud's environment (:mod:`.cloud_config`) and never appear in messages or logs.
"""

from __future__ import annotations

import atexit
import time
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING

import obstore
from obstore.exceptions import AlreadyExistsError, BaseError, PreconditionError
from obstore.store import AzureStore

from .azure_metadata import BlobMetadata
from .base import ObjectInfo, PreconditionFailed, StoreError, UploadWatcher
from .cloud_config import obstore_store
from .cloud_upload import CloudUpload
from .errors import translate
from .location import StoreLocation

if TYPE_CHECKING:
    from obstore import Attributes, PutMode
    from obstore.store import ObjectStore

_CHUNK = 1024 * 1024


def _settle() -> None:
    # obstore completes each awaited call from a Tokio thread that still holds a Python thread
    # state for a moment; an interpreter that finalizes meanwhile aborts the process (SIGABRT
    # after a complete run). Waiting here, before finalization, lets those threads finish.
    time.sleep(0.2)


atexit.register(_settle)


class CloudStore:
    """A bucket or container (and prefix) of ``s3://`` or ``az://``.

    ``store`` (an obstore store) replaces the one built from the location and the
    environment (tests, or credentials configured in code).
    """

    def __init__(self, location: StoreLocation, store: ObjectStore | None = None) -> None:
        self.where = location
        self.location = location.url
        self.obstore = store if store is not None else obstore_store(location)
        #: Where multipart objects get their metadata after they complete (Azure only).
        self._metadata = (
            BlobMetadata(self.obstore, self.location)
            if isinstance(self.obstore, AzureStore)
            else None
        )

    @classmethod
    def from_location(cls, location: StoreLocation) -> CloudStore:
        """The store of ``location``, configured from the environment."""
        return cls(location)

    def __repr__(self) -> str:
        return f"CloudStore({self.location!r})"

    def _error(self, exc: BaseException, key: str, verb: str) -> StoreError:
        return translate(exc, self.where, f"cannot {verb} {self.location}/{key}")

    async def stat(self, key: str) -> ObjectInfo | None:
        try:
            head = await obstore.get_async(self.obstore, key, options={"head": True})
        except FileNotFoundError:
            return None
        except (BaseError, OSError) as exc:
            raise self._error(exc, key, "read") from None
        attributes = {k: str(v) for k, v in head.attributes.items()}
        return ObjectInfo(key, head.meta["size"], head.meta.get("e_tag"), attributes)

    async def list(self, prefix: str = "") -> AsyncIterator[ObjectInfo]:
        try:
            async for batch in obstore.list(self.obstore, prefix or None):
                for meta in batch:
                    yield ObjectInfo(meta["path"], meta["size"], meta.get("e_tag"))
        except (BaseError, OSError) as exc:
            raise self._error(exc, prefix, "list") from None

    async def read(self, key: str, start: int = 0, end: int | None = None) -> bytes | None:
        try:
            if start == 0 and end is None:
                result = await obstore.get_async(self.obstore, key)
                return bytes(await result.bytes_async())
            if end is None:
                result = await obstore.get_async(
                    self.obstore, key, options={"range": {"offset": start}}
                )
                return bytes(await result.bytes_async())
            if end <= start:
                return b""
            return bytes(await obstore.get_range_async(self.obstore, key, start=start, end=end))
        except FileNotFoundError:
            return None
        except (BaseError, OSError) as exc:
            raise self._error(exc, key, "read") from None

    async def stream(self, key: str) -> AsyncIterator[bytes]:
        try:
            result = await obstore.get_async(self.obstore, key)
            async for chunk in result.stream(min_chunk_size=_CHUNK):
                yield bytes(chunk)
        except FileNotFoundError:
            raise
        except (BaseError, OSError) as exc:
            raise self._error(exc, key, "read") from None

    async def put(
        self,
        key: str,
        data: bytes,
        *,
        attributes: Mapping[str, str] | None = None,
        if_match: str | None = None,
        if_absent: bool = False,
    ) -> str | None:
        mode: PutMode = "overwrite"
        if if_absent:
            mode = "create"
        elif if_match is not None:
            mode = {"e_tag": if_match}
        stored: Attributes | None = dict(attributes) if attributes else None
        try:
            result = await obstore.put_async(
                self.obstore, key, data, attributes=stored, mode=mode, use_multipart=False
            )
        except (AlreadyExistsError, PreconditionError):
            raise PreconditionFailed(
                f"{self.location}/{key} changed since it was read (or exists already)"
            ) from None
        except (BaseError, OSError) as exc:
            raise self._error(exc, key, "write") from None
        return result.get("e_tag")

    def upload(
        self,
        key: str,
        *,
        part_size: int,
        concurrency: int,
        watcher: UploadWatcher | None = None,
    ) -> CloudUpload:
        return CloudUpload(
            self.obstore, key, part_size, concurrency, self._metadata, self._error, watcher
        )

    async def delete(self, key: str) -> None:
        try:
            await obstore.delete_async(self.obstore, key)
        except FileNotFoundError:
            return
        except (BaseError, OSError) as exc:
            raise self._error(exc, key, "delete") from None
