"""The archive in an object store: ``s3://bucket/prefix`` or ``az://container/prefix``,
written through the :class:`~.stores.Store` protocol alone.

The stores (:mod:`.stores`) are built on obstore (Rust's ``object_store``): streamed
multipart uploads with a fixed part size, and abort on failure. Credentials come from each
store's environment (``AWS_*``, ``AZURE_STORAGE_*``); they never appear in the
location, the logs or the manifest.

Layout under the prefix, as in a local archive: the files at their paths, ``manifest.jsonl``
(compacted when a run ends) and ``index.csv``; a running run's lines and the shards' parts
are kept as :mod:`.store_manifest` describes. No temporary keys: a multipart upload's parts
are invisible until it completes at the final key.

Where a file's sha256 (and the source's ETag) is kept as object metadata, by store:

- A file up to a part, on either store: one PUT carrying both, so the object and its
  metadata appear together.
- A larger file on Azure: its blocks are committed at the final key (Put Block List), then
  the metadata is set (Set Blob Metadata, through a URL that obstore signs, sent with
  aiohttp). Between the two the object is whole but without metadata; a crash there leaves
  an object a rerun does not trust without its manifest line, and fetches again. Signing
  works with an account key (tested against Azurite); obstore signs for a bearer token
  (Entra ID) with a user delegation key, which no test here covers. With a SAS-token
  credential, which cannot sign, or if the request keeps failing (it is tried four times),
  the sha256 is in the manifest only, as on S3, and a warning says so.
- A larger file on S3: in the manifest only. S3 takes an object's metadata when the
  multipart upload starts, before the bytes are hashed, and obstore offers no way to change
  it after: its copy sends no metadata (a CopyObject that replaces metadata is not exposed,
  so an upload to a temporary key copied to the final one would carry none either), a
  presigned URL cannot carry the ``x-amz-*`` headers such a copy needs (S3 requires them
  signed), and reading the object back into a second upload would triple its traffic.
  Its line is saved as soon as it completes, so only a crash in that moment costs a refetch.

A rerun trusts an object whose manifest line, size and stored sha256 (where there is one)
agree; without a line, one whose size and sha256 metadata say it is whole.
"""

from __future__ import annotations

import hashlib
import logging

from .._http.sink import SinkWriter
from ..download import DownloadResult
from ..errors import ConfigurationError, IntegrityError
from ..stores import Store, StoreError, open_store, parse_location
from .destination import Fetch
from .manifest import ManifestEntry, file_entry, warn_unreadable
from .manifest_log import LoggedDestination
from .merge import MergeReport
from .plan import PlannedFile
from .shard import Shard, ShardBy, shard_name
from .store_manifest import StoreManifest
from .upload_ledger import UploadLedger

__all__ = ["PART_SIZE", "ObjectStoreDestination", "object_key"]

#: The object metadata key holding a file's sha256 (``x-amz-meta-sha256``, ``x-ms-meta-sha256``).
SHA256_KEY = "sha256"
#: The object metadata key holding the source's ETag of the file, when it named one.
ETAG_KEY = "sourceetag"
logger = logging.getLogger("hoverbentley")
#: Multipart part size: S3 takes parts of 5 MiB and more (the last one may be smaller).
PART_SIZE = 8 * 1024 * 1024


def object_key(path: str) -> str:
    """``path`` as a key under the prefix; a name that could leave it is refused."""
    segments = path.split("/")
    if any(s in ("", ".", "..") or "\\" in s or not s.isprintable() for s in segments):
        raise StoreError(f"refusing to write {path!r}: not a plain relative path")
    return path


def open_object_store(url: str) -> Store:
    """The object store at ``url``; a local path is refused (it is a :class:`LocalDirectory`)."""
    if parse_location(url).scheme == "file":
        raise ConfigurationError(f"not an object store URL: {url} (s3://… or az://…)")
    return open_store(url)


class ObjectStoreDestination(LoggedDestination):
    """A :class:`~hoverbentley.archive.destination.Destination` under an object-store prefix.

    ``url`` is ``s3://bucket/prefix`` or ``az://container/prefix``;
    ``store`` (a :class:`~.stores.Store`) replaces the one opened from the URL and the
    environment. ``part_size`` and ``part_concurrency`` bound each transfer's memory to about
    ``part_size × (concurrency+1)``. Manifest lines are written to the store at most
    ``checkpoint`` seconds after they happen. ``shard`` and ``shard_by`` (see
    :func:`~hoverbentley.archive.shard.owns_file`) say which lines this run's manifest part
    keeps; :meth:`merge_parts` compacts every part into one.
    """

    log: StoreManifest

    def __init__(
        self,
        url: str,
        *,
        store: Store | None = None,
        part_size: int = PART_SIZE,
        part_concurrency: int = 2,
        checkpoint: float = 5.0,
        shard: Shard | None = None,
        shard_by: ShardBy = "job",
    ) -> None:
        self._store = store if store is not None else open_object_store(url)
        self.location = self._store.location
        self._part_size = part_size
        self._part_concurrency = part_concurrency
        self.manifest = StoreManifest(
            self._store, checkpoint=checkpoint, shard=shard, shard_by=shard_by
        )
        self.log = self.manifest
        self._shard = shard
        #: The multipart uploads this run has open, recorded in the store (S3 only).
        self._ledger: UploadLedger | None = None
        #: Loaded for a dry run: nothing is written (an object found whole is not recorded).
        self._read_only = False

    def __repr__(self) -> str:
        return f"ObjectStoreDestination({self.location!r})"

    @property
    def store(self) -> Store:
        """The store the archive is in."""
        return self._store

    async def open(self) -> None:
        """Load the manifest (see :meth:`.StoreManifest.open`), and abort the multipart
        uploads that a crashed run of this owner left open (see :mod:`.upload_ledger`)."""
        await self.manifest.open()
        warn_unreadable(self.location, self.manifest.unreadable)
        shard = shard_name(self._shard) if self._shard is not None else None
        self._ledger = UploadLedger.for_store(self._store, shard or self.manifest.run_id)
        if self._ledger is not None:
            aborted = await self._ledger.clean_up(shard)
            if aborted:
                logger.info(
                    "%s: aborted %d multipart uploads a crashed run left open",
                    self.location,
                    len(aborted),
                )

    async def load(self) -> None:
        """Read the manifest and list the store (see :meth:`.StoreManifest.open`), writing
        nothing."""
        self._read_only = True
        await self.manifest.open()

    def listed(self) -> dict[str, int]:
        """Every archived object (not the bookkeeping) and its size, as :meth:`open` found."""
        return self.manifest.listed()

    async def close(self) -> None:
        """Write this run's manifest lines and index rows (see :meth:`.StoreManifest.close`),
        and drop its record of open uploads when none is left."""
        try:
            await self.manifest.close()
        finally:
            if self._ledger is not None:
                await self._ledger.close()

    async def manifest_parts(self) -> list[str]:
        """The keys of every manifest part (the shards' and unfinished runs'), sorted."""
        return await self.manifest.manifest_parts()

    async def merge_parts(self, *, allow_partial: bool = False) -> MergeReport:
        """Merge every manifest and index part (see :meth:`.StoreManifest.merge_parts`)."""
        return await self.manifest.merge_parts(allow_partial=allow_partial)

    def _save_now(self, entry: ManifestEntry) -> bool:
        # A multipart object may have no sha256 metadata to be recognised by (on S3, or if
        # setting it failed): its line is saved now.
        return entry.size is not None and entry.size > self._part_size

    async def is_complete(self, file: PlannedFile) -> bool:
        """Complete: the manifest line, the object's size and its stored sha256 agree; or,
        without a line (a crash before the checkpoint), an object whose metadata says it."""
        key = object_key(file.path)
        if self.manifest.size(key) is None:
            return False  # no request: the object was not there when the run began
        entry = self.manifest.entry(file.path)
        if entry is not None and entry.status != "ok":
            return False
        if file.etag and entry is not None and entry.etag and file.etag != entry.etag:
            return False  # changed at the source
        head = await self._store.stat(key)
        if head is None:
            return False
        stored = head.attributes.get(SHA256_KEY)
        if file.size is not None and head.size != file.size:
            return False
        if entry is None:
            return await self._recover(file, head.size, stored, head.attributes.get(ETAG_KEY))
        if entry.size is not None and head.size != entry.size:
            return False
        return stored is None or stored == entry.sha256

    async def _recover(
        self, file: PlannedFile, size: int, sha256: str | None, etag: str | None
    ) -> bool:
        """Record the line of an object stored whole by a run that died before recording it."""
        if sha256 is None or (file.etag and etag and file.etag != etag):
            return False
        if self._read_only:
            return True
        await self.record(file_entry(file, "ok", size=size, sha256=sha256, etag=etag))
        return True

    async def receive(self, file: PlannedFile, fetch: Fetch) -> DownloadResult:
        key = object_key(file.path)
        upload = self._store.upload(
            key,
            part_size=self._part_size,
            concurrency=self._part_concurrency,
            watcher=self._ledger,
        )
        try:
            result = await fetch(file, SinkWriter(upload, md5=file.md5 is not None))
            if file.size is not None and result.size != file.size:
                raise IntegrityError(
                    f"received {result.size} bytes where the listing says {file.size}",
                    url=file.url,
                )
            attributes = {SHA256_KEY: result.sha256}
            if result.etag:
                attributes[ETAG_KEY] = result.etag
            await upload.commit(attributes)
        except BaseException:
            await upload.abort()
            raise
        return result

    async def sha256(self, path: str) -> str | None:
        """The sha256 of the bytes stored at ``path``, read back in full (None: no object)."""
        digest = hashlib.sha256()
        try:
            async for chunk in self._store.stream(object_key(path)):
                digest.update(chunk)
        except FileNotFoundError:
            return None
        return digest.hexdigest()

    async def write_record(self, path: str, data: bytes) -> None:
        attributes = {SHA256_KEY: hashlib.sha256(data).hexdigest()}
        await self._store.put(object_key(path), data, attributes=attributes)
