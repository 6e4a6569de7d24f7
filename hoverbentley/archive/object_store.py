"""The archive in an object store: ``s3://bucket/prefix`` or ``az://container/prefix``.

Built on obstore (Rust's ``object_store``): one async interface to S3 and Azure Blob Storage,
streaming multipart uploads with a fixed part size, and abort on failure. Credentials come
from each store's environment (``AWS_*``, ``AZURE_STORAGE_*``); they never appear in the
location, the logs or the manifest.

Layout under the prefix, as in a local archive: the files at their paths, ``manifest.jsonl``
(compacted when a run ends) and ``index.csv``; besides, ``manifests/run-*.jsonl``, a running
run's lines, replaced at checkpoints (every few seconds, and after each multipart object) and
merged into ``manifest.jsonl`` when it ends. A shard (``--shard K/N``) keeps
``manifests/shard-K-of-N.jsonl`` and ``indexes/shard-K-of-N.csv`` instead, and every reader
merges all parts. No temporary keys: a multipart upload's parts are invisible until it
completes at the final key.

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

import atexit
import contextlib
import hashlib
import logging
import os
import secrets
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import aiohttp
import anyio
import obstore
from obstore.exceptions import BaseError
from obstore.store import AzureStore, S3Store

from .._http.clock import now
from ..download import DownloadResult
from ..errors import ConfigurationError, IntegrityError
from .destination import ArchiveWriteError, Fetch, is_store_url
from .index import INDEX_NAME, merge_index
from .manifest import MANIFEST_NAME, ManifestEntry, encode_entry
from .merge import (
    INDEX_PARTS,
    MANIFEST_PARTS,
    MergeReport,
    index_rows,
    keep_newest,
    manifest_body,
    merge_indexes,
    merge_texts,
    report,
)
from .plan import PlannedFile
from .shard import Shard, ShardBy, owns_file, shard_name

if TYPE_CHECKING:
    from obstore import Attributes
    from obstore.store import AzureConfig, ClientConfig, ObjectStore

#: The object metadata key holding a file's sha256 (``x-amz-meta-sha256``, ``x-ms-meta-sha256``).
SHA256_KEY = "sha256"
#: The object metadata key holding the source's ETag of the file, when it named one.
ETAG_KEY = "sourceetag"
#: Where each run keeps its own manifest lines until the run ends.
SEGMENTS = MANIFEST_PARTS
#: Where each shard keeps its rows of the index.
INDEXES = INDEX_PARTS
#: Multipart part size: S3 takes parts of 5 MiB and more (the last one may be smaller).
PART_SIZE = 8 * 1024 * 1024
#: Body bytes gathered before one call into the uploader.
_BATCH = 1024 * 1024
#: Manifest lines per segment object before a run starts its next one.
_SEGMENT_LINES = 2000
#: How long the signed URL that sets a blob's metadata is valid.
_SIGNED_FOR = timedelta(minutes=10)
#: Tries of a Set Blob Metadata request that fails (5xx, reset, timeout) before giving up.
_METADATA_TRIES = 4

logger = logging.getLogger("hoverbentley")


def _settle() -> None:
    # obstore completes each awaited call from a Tokio thread that still holds a Python thread
    # state for a moment; an interpreter that finalizes meanwhile aborts the process (SIGABRT
    # after a complete run). Waiting here, before finalization, lets those threads finish.
    time.sleep(0.2)


atexit.register(_settle)


def _store_from_url(url: str) -> ObjectStore:
    parts = urlsplit(url)
    if parts.query or parts.fragment or "@" in parts.netloc:
        raise ConfigurationError(
            f"{parts.scheme}://{parts.hostname or ''}/…: no credentials or options in an archive"
            " URL; they come from the store's environment variables"
        )
    name, prefix = parts.netloc, parts.path.strip("/") or None
    if not name:
        raise ConfigurationError(f"{url}: name a bucket or container ({parts.scheme}://NAME/…)")
    if parts.scheme == "s3":
        return S3Store(name, prefix=prefix)
    return _azure_store(name, prefix)


def _azure_store(name: str, prefix: str | None) -> AzureStore:
    """An Azure store from the environment, reading ``AZURE_STORAGE_CONNECTION_STRING`` too."""
    text = os.environ.get("AZURE_STORAGE_CONNECTION_STRING")
    if not text:
        return AzureStore(name, prefix=prefix)
    fields = dict(p.split("=", 1) for p in text.split(";") if "=" in p)
    config: AzureConfig = {}
    client: ClientConfig = {}
    if "AccountName" in fields:
        config["account_name"] = fields["AccountName"]
    if "AccountKey" in fields:
        config["account_key"] = fields["AccountKey"]
    if "SharedAccessSignature" in fields:
        config["sas_key"] = fields["SharedAccessSignature"]
    if "BlobEndpoint" in fields:
        config["endpoint"] = fields["BlobEndpoint"]
        if fields["BlobEndpoint"].startswith("http://"):
            client["allow_http"] = True
    return AzureStore(name, prefix=prefix, config=config, client_options=client)


def object_key(path: str) -> str:
    """``path`` as a key under the prefix; a name that could leave it is refused."""
    segments = path.split("/")
    if any(s in ("", ".", "..") or "\\" in s or not s.isprintable() for s in segments):
        raise ArchiveWriteError(f"refusing to write {path!r}: not a plain relative path")
    return path


def _cause(exc: BaseException) -> str:
    """One line of a store error, without URLs' query strings (a SAS signs them)."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return " ".join(w.split("?", 1)[0] if "://" in w else w for w in first.split())[:300]


async def _put_metadata(url: str, attributes: Attributes) -> str | None:
    """Set Blob Metadata (replacing any) at the signed ``url``; None, or why it failed.

    The URL is never logged: its query is the grant.
    """
    headers = {f"x-ms-meta-{name}": str(value) for name, value in attributes.items()}
    cause = ""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        for attempt in range(_METADATA_TRIES):
            if attempt:
                await anyio.sleep(0.2 * 2**attempt)
            try:
                async with session.put(f"{url}&comp=metadata", headers=headers) as answer:
                    if answer.status == 200:
                        return None
                    cause = f"HTTP {answer.status}"
                    if answer.status < 500:
                        break
            except (aiohttp.ClientError, TimeoutError) as exc:
                cause = type(exc).__name__
    return cause


class _BlobMetadata:
    """Sets the metadata of blobs that multipart uploads committed (see the module's notes).

    Through a URL obstore signs for each blob: a credential that cannot sign (a SAS token)
    is reported once, and the large objects then keep their sha256 in the manifest only.
    """

    def __init__(self, store: AzureStore, location: str) -> None:
        self._store = store
        self._location = location
        self._can_sign = True

    async def set(self, key: str, attributes: Attributes) -> bool:
        """Whether blob ``key`` now carries ``attributes`` as its metadata."""
        if not self._can_sign:
            return False
        try:
            url = await obstore.sign_async(self._store, "PUT", key, _SIGNED_FOR)
        except (BaseError, OSError) as exc:
            self._can_sign = False
            logger.warning(
                "%s: cannot sign requests (%s): objects larger than a part keep their sha256"
                " in the manifest only",
                self._location,
                _cause(exc),
            )
            return False
        cause = await _put_metadata(url, attributes)
        if cause is not None:
            logger.warning("no sha256 metadata on %s (its manifest line has it): %s", key, cause)
        return cause is None


class _Upload:
    """A :class:`~hoverbentley._http.sink.Sink` that becomes one object when committed.

    Up to :data:`PART_SIZE` bytes are held in memory; a file that stays within it is stored
    with one PUT carrying its sha256 as metadata. A larger one goes out as a multipart upload
    in parts of :data:`PART_SIZE` (at most ``concurrency`` parts in flight), completed only by
    :meth:`commit`, which then sets its metadata on Azure (see the module's notes);
    :meth:`abort` and :meth:`restart` drop it, so nothing appears at the key.
    """

    def __init__(
        self,
        store: ObjectStore,
        key: str,
        part_size: int,
        concurrency: int,
        metadata: _BlobMetadata | None,
    ) -> None:
        self.name = key
        self._store = store
        self._metadata = metadata
        self._part_size = part_size
        self._concurrency = concurrency
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._size = 0
        self._writer: obstore.AsyncWritableFile | None = None

    @property
    def size(self) -> int:
        return self._size

    async def write(self, data: bytes) -> None:
        self._size += len(data)
        self._pending.append(data)
        self._pending_size += len(data)
        if self._writer is None and self._pending_size <= self._part_size:
            return
        if self._writer is None:
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

    async def restart(self) -> None:
        await self.abort()
        self._size = 0

    async def abort(self) -> None:
        """Drop the upload: buffered bytes and any parts already sent."""
        self._pending, self._pending_size = [], 0
        writer, self._writer = self._writer, None
        if writer is not None:
            with anyio.CancelScope(shield=True):
                await writer.__aexit__(RuntimeError, RuntimeError("aborted"), None)

    async def commit(self, sha256: str, etag: str | None) -> None:
        """Make the object visible at its key, whole (``etag``: the source's, kept too)."""
        attributes: Attributes = {SHA256_KEY: sha256}
        if etag:
            attributes[ETAG_KEY] = etag
        if self._writer is None:
            data = b"".join(self._pending)
            self._pending, self._pending_size = [], 0
            await obstore.put_async(
                self._store, self.name, data, attributes=attributes, use_multipart=False
            )
            return
        if self._pending:
            await self._flush()
        writer, self._writer = self._writer, None
        await writer.close()
        if self._metadata is not None:
            await self._metadata.set(self.name, attributes)


class ObjectStoreDestination:
    """A :class:`~hoverbentley.archive.destination.Destination` under an object-store prefix.

    ``url`` is ``s3://bucket/prefix`` or ``az://container/prefix``; ``store`` (an obstore
    store) replaces the one built from the URL and the environment. ``part_size`` and
    ``part_concurrency`` bound each transfer's memory to about ``part_size × (concurrency+1)``.
    Manifest lines are written to the store at most ``checkpoint`` seconds after they happen.
    ``shard`` and ``shard_by`` (see :func:`~hoverbentley.archive.shard.owns_file`) say which
    lines this run's manifest part keeps; :meth:`merge_parts` compacts every part into one.
    """

    def __init__(
        self,
        url: str,
        *,
        store: ObjectStore | None = None,
        part_size: int = PART_SIZE,
        part_concurrency: int = 2,
        checkpoint: float = 5.0,
        shard: Shard | None = None,
        shard_by: ShardBy = "job",
    ) -> None:
        if not is_store_url(url):
            raise ConfigurationError(f"not an object store URL: {url} (s3://… or az://…)")
        self.location = url.rstrip("/")
        self._store = store if store is not None else _store_from_url(url)
        #: Where multipart objects get their metadata after they complete (Azure only).
        self._metadata = (
            _BlobMetadata(self._store, self.location)
            if isinstance(self._store, AzureStore)
            else None
        )
        self._part_size = part_size
        self._part_concurrency = part_concurrency
        self._checkpoint = checkpoint
        self._entries: dict[str, ManifestEntry] = {}
        self._run_lines: list[bytes] = []
        self._written_lines = 0
        self._last_checkpoint = 0.0
        self._run = f"{SEGMENTS}run-{time.time_ns():020d}-{secrets.token_hex(4)}"
        #: This run's segments: each holds the lines after the one before, up to
        #: ``_SEGMENT_LINES``, so a checkpoint rewrites a bounded object.
        self._segments: list[str] = []
        self._segment_start = self._segment_no = 0
        self._merged_segments: list[str] = []
        self._index_rows: list[dict[str, str]] = []
        self._lock = anyio.Lock()
        #: A shard keeps its lines in its own part, whole, and never compacts the others.
        self._shard = shard
        self._shard_by: ShardBy = shard_by
        #: The size of every object under the prefix when the run began.
        self._listed: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"ObjectStoreDestination({self.location!r})"

    def _where(self, path: str) -> str:
        return f"{self.location}/{path}"

    def _error(self, exc: BaseException, path: str) -> ArchiveWriteError:
        return ArchiveWriteError(f"cannot write {self._where(path)}: {_cause(exc)}")

    async def _read(self, key: str) -> bytes | None:
        try:
            result = await obstore.get_async(self._store, key)
            return bytes(await result.bytes_async())
        except FileNotFoundError:
            return None

    async def open(self) -> None:
        """Load ``manifest.jsonl`` and the lines of runs that did not finish."""
        try:
            data = await self._read(MANIFEST_NAME)
            sources = [data] if data is not None else []
            segments: list[str] = []
            async for batch in obstore.list(self._store):
                for meta in batch:
                    if meta["path"].startswith(SEGMENTS):
                        segments.append(meta["path"])
                    else:
                        self._listed[meta["path"]] = meta["size"]
            segments.sort()
            for key in segments:
                if (part := await self._read(key)) is not None:
                    sources.append(part)
        except (BaseError, OSError) as exc:
            raise ArchiveWriteError(f"cannot read {self.location}: {_cause(exc)}") from None
        self._merged_segments = segments
        self._entries, _ = merge_texts(sources)

    def entry(self, path: str) -> ManifestEntry | None:
        return self._entries.get(path)

    def entries(self) -> list[str]:
        """The paths the manifest names (after :meth:`open`)."""
        return list(self._entries)

    def listed(self) -> dict[str, int]:
        """Every archived object (not the bookkeeping) and its size, as :meth:`open` found."""
        own = (MANIFEST_NAME, INDEX_NAME)
        return {k: v for k, v in self._listed.items() if k not in own and not k.startswith(INDEXES)}

    async def is_complete(self, file: PlannedFile) -> bool:
        """Complete: the manifest line, the object's size and its stored sha256 agree; or,
        without a line (a crash before the checkpoint), an object whose metadata says it."""
        key = object_key(file.path)
        if key not in self._listed:
            return False  # no request: the object was not there when the run began
        entry = self._entries.get(file.path)
        if entry is not None and entry.status != "ok":
            return False
        if file.etag and entry is not None and entry.etag and file.etag != entry.etag:
            return False  # changed at the source
        try:
            head = await obstore.get_async(self._store, key, options={"head": True})
        except FileNotFoundError:
            return False
        except (BaseError, OSError) as exc:
            raise self._error(exc, file.path) from None
        size = head.meta["size"]
        stored = head.attributes.get(SHA256_KEY)
        if file.size is not None and size != file.size:
            return False
        if entry is None:
            return await self._recover(file, size, stored, head.attributes.get(ETAG_KEY))
        if entry.size is not None and size != entry.size:
            return False
        return stored is None or stored == entry.sha256

    async def _recover(
        self, file: PlannedFile, size: int, sha256: str | None, etag: str | None
    ) -> bool:
        """Record the line of an object stored whole by a run that died before recording it."""
        if sha256 is None or (file.etag and etag and file.etag != etag):
            return False
        await self.record(
            ManifestEntry(
                path=file.path,
                url=file.url,
                size=size,
                sha256=sha256,
                etag=etag,
                job_id=file.job_id,
                part_id=file.part_id,
                kind=file.kind,
                format=file.format,
                key=file.key,
                status="ok",
                completed_at=time.time(),
            )
        )
        return True

    async def receive(self, file: PlannedFile, fetch: Fetch) -> DownloadResult:
        key = object_key(file.path)
        upload = _Upload(self._store, key, self._part_size, self._part_concurrency, self._metadata)
        try:
            result = await fetch(file, upload)
            if file.size is not None and result.size != file.size:
                raise IntegrityError(
                    f"received {result.size} bytes where the listing says {file.size}",
                    url=file.url,
                )
            await upload.commit(result.sha256, result.etag)
        except (BaseError, OSError) as exc:
            await upload.abort()
            raise self._error(exc, file.path) from None
        except BaseException:
            await upload.abort()
            raise
        return result

    async def sha256(self, path: str) -> str | None:
        """The sha256 of the bytes stored at ``path``, read back in full (None: no object)."""
        try:
            result = await obstore.get_async(self._store, object_key(path))
            digest = hashlib.sha256()
            async for chunk in result.stream(min_chunk_size=_BATCH):
                digest.update(chunk)
        except FileNotFoundError:
            return None
        except (BaseError, OSError) as exc:
            raise ArchiveWriteError(f"cannot read {self._where(path)}: {_cause(exc)}") from None
        return digest.hexdigest()

    async def write_record(self, path: str, data: bytes) -> None:
        attributes: Attributes = {SHA256_KEY: hashlib.sha256(data).hexdigest()}
        try:
            await obstore.put_async(
                self._store, object_key(path), data, attributes=attributes, use_multipart=False
            )
        except (BaseError, OSError) as exc:
            raise self._error(exc, path) from None

    async def record(self, entry: ManifestEntry) -> None:
        self._entries[entry.path] = entry
        self._run_lines.append(encode_entry(entry))
        # A multipart object may have no sha256 metadata to be recognised by (on S3, or if
        # setting it failed): its line is saved now.
        multipart = entry.size is not None and entry.size > self._part_size
        due = now() - self._last_checkpoint >= self._checkpoint
        # A checkpoint under way carries the lines recorded before it; the next takes the rest.
        if multipart or (due and not self._lock.locked()):
            await self._save_segment()

    async def _save_segment(self) -> None:
        """Replace this run's current segment with its lines so far (one PUT: whole or absent)."""
        async with self._lock:
            own = None if self._shard is None else f"{SEGMENTS}{shard_name(self._shard)}.jsonl"
            # A shard writes its part even without lines: readers count the shards by parts.
            written = (None, *self._segments, *self._merged_segments)
            if self._written_lines == len(self._run_lines) and own in written:
                return
            lines = len(self._run_lines)
            if own is not None:
                key = own
                data = b"".join(encode_entry(e) for e in self._shard_entries())
            else:
                key = f"{self._run}-{self._segment_no:05d}.jsonl"
                data = b"".join(self._run_lines[self._segment_start : lines])
            try:
                await obstore.put_async(self._store, key, data, use_multipart=False)
            except (BaseError, OSError) as exc:
                raise self._error(exc, key) from None
            if key not in self._segments:
                self._segments.append(key)
            self._written_lines = lines
            self._last_checkpoint = now()
            if lines - self._segment_start >= _SEGMENT_LINES:
                self._segment_start, self._segment_no = lines, self._segment_no + 1

    def _shard_entries(self) -> list[ManifestEntry]:
        """The newest line of every path this shard owns (earlier runs' included)."""
        shard, by = self._shard, self._shard_by
        return [
            e
            for e in self._entries.values()
            if owns_file(e.path.split("/")[0], e.job_id, e.part_id, shard, by)
        ]

    def add_index_row(self, row: Mapping[str, str]) -> None:
        self._index_rows.append(dict(row))

    async def close(self) -> None:
        """Write the compacted manifest and the index, then drop the merged segments."""
        first: ArchiveWriteError | None = None
        try:
            await self._save_segment()
            if self._shard is None:
                await self._compact()
        except ArchiveWriteError as exc:
            first = exc
        if self._index_rows:
            rows, self._index_rows = self._index_rows, []
            try:
                await self._write_index(rows)
            except (BaseError, OSError) as exc:
                first = first or self._error(exc, INDEX_NAME)
        if first is not None:
            raise first

    async def _write_index(self, rows: list[dict[str, str]]) -> None:
        """Merge ``rows`` into ``index.csv``; a shard keeps them in its own index part too,
        and rebuilds ``index.csv`` from every part."""
        if self._shard is None:
            data = merge_index(await self._read(INDEX_NAME), rows)
            await obstore.put_async(self._store, INDEX_NAME, data, use_multipart=False)
            return
        part = f"{INDEXES}{shard_name(self._shard)}.csv"
        own = merge_index(await self._read(part), rows)
        await obstore.put_async(self._store, part, own, use_multipart=False)
        merged = await self._read(INDEX_NAME)
        async for batch in obstore.list(self._store, INDEXES.rstrip("/")):
            for meta in batch:
                text = await self._read(meta["path"])
                if text is not None:
                    merged = merge_index(merged, index_rows(text))
        await obstore.put_async(self._store, INDEX_NAME, merged or own, use_multipart=False)

    async def manifest_parts(self) -> list[str]:
        """The keys of every manifest part (the shards' and unfinished runs'), sorted."""
        try:
            keys = [
                meta["path"]
                async for batch in obstore.list(self._store, SEGMENTS.rstrip("/"))
                for meta in batch
            ]
        except (BaseError, OSError) as exc:
            raise ArchiveWriteError(f"cannot read {self.location}: {_cause(exc)}") from None
        return sorted(k for k in keys if k.endswith(".jsonl"))

    async def merge_parts(self) -> MergeReport:
        """Replace ``manifest.jsonl`` and ``index.csv`` with the merge of every part (the
        shards' and unfinished runs'), each with one PUT: a reader sees the old or the new."""
        parts: list[str] = []
        index_parts: list[str] = []
        try:
            async for batch in obstore.list(self._store):
                for meta in batch:
                    key = meta["path"]
                    if key.startswith(SEGMENTS) and key.endswith(".jsonl"):
                        parts.append(key)
                    elif key.startswith(INDEXES) and key.endswith(".csv"):
                        index_parts.append(key)
            parts.sort()
            manifest = await self._read(MANIFEST_NAME)
            if manifest is None and not parts:
                raise ConfigurationError(
                    f"no {MANIFEST_NAME} or {SEGMENTS} in {self.location}: not an archive"
                )
            texts = [manifest, *[await self._read(k) for k in parts]]
            indexes = [
                await self._read(INDEX_NAME),
                *[await self._read(k) for k in sorted(index_parts)],
            ]
        except (BaseError, OSError) as exc:
            raise ArchiveWriteError(f"cannot read {self.location}: {_cause(exc)}") from None
        entries, lines = merge_texts(t for t in texts if t is not None)
        index = merge_indexes(t for t in indexes if t is not None)
        try:
            await obstore.put_async(
                self._store, MANIFEST_NAME, manifest_body(entries), use_multipart=False
            )
        except (BaseError, OSError) as exc:
            raise self._error(exc, MANIFEST_NAME) from None
        if index is not None:
            try:
                await obstore.put_async(self._store, INDEX_NAME, index, use_multipart=False)
            except (BaseError, OSError) as exc:
                raise self._error(exc, INDEX_NAME) from None
        self._entries = entries
        return report(self.location, parts, entries, lines, index)

    async def _compact(self) -> None:
        if not self._run_lines and not self._merged_segments:
            return
        try:
            # Read again: a run that finished meanwhile may have compacted its own lines in.
            data = await self._read(MANIFEST_NAME)
            current, _ = merge_texts([data] if data is not None else [])
            for entry in self._entries.values():
                keep_newest(current, entry)
            body = b"".join(encode_entry(e) for e in current.values())
            await obstore.put_async(self._store, MANIFEST_NAME, body, use_multipart=False)
            self._entries = current
        except (BaseError, OSError) as exc:
            raise self._error(exc, MANIFEST_NAME) from None
        # Shard parts stay: their shards may be running now, and readers merge them anyway.
        runs = [k for k in self._merged_segments if k.startswith(f"{SEGMENTS}run-")]
        for key in [*runs, *self._segments]:
            # Merged already: if the delete fails, a later run merges it again, harmlessly.
            with contextlib.suppress(BaseError, OSError):
                await obstore.delete_async(self._store, key)
        self._merged_segments = []
