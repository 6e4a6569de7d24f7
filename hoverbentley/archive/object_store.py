"""The archive in an object store: ``s3://bucket/prefix`` or ``az://container/prefix``,
written through the :class:`~.stores.Store` protocol alone.

The stores (:mod:`.stores`) are built on obstore (Rust's ``object_store``): streamed
multipart uploads with a fixed part size, and abort on failure. Credentials come from each
store's environment (``AWS_*``, ``AZURE_STORAGE_*``); they never appear in the
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

import contextlib
import hashlib
import secrets
import time
from collections.abc import Mapping

import anyio

from .._http.clock import now
from .._http.sink import SinkWriter
from ..download import DownloadResult
from ..errors import ConfigurationError, IntegrityError
from .destination import Fetch
from .index import INDEX_NAME, merge_index
from .manifest import MANIFEST_NAME, ManifestEntry, encode_entry, file_entry
from .marks import MARK_DIR
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
from .stores import Store, StoreError, StoreUnavailable, open_store, parse_location

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
#: Manifest lines per segment object before a run starts its next one.
_SEGMENT_LINES = 2000


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


class ObjectStoreDestination:
    """A :class:`~hoverbentley.archive.destination.Destination` under an object-store prefix.

    ``url`` is ``s3://bucket/prefix`` or ``az://container/prefix``;
    ``store`` (a :class:`~.stores.Store`) replaces the one opened from the URL and the
    environment. ``part_size`` and ``part_concurrency`` bound each transfer's memory to about
    ``part_size × (concurrency+1)``. Manifest lines are written to the store at most
    ``checkpoint`` seconds after they happen. ``shard`` and ``shard_by`` (see
    :func:`~hoverbentley.archive.shard.owns_file`) say which lines this run's manifest part
    keeps; :meth:`merge_parts` compacts every part into one.
    """

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

    @property
    def store(self) -> Store:
        """The store the archive is in."""
        return self._store

    async def open(self) -> None:
        """Load ``manifest.jsonl`` and the lines of runs that did not finish."""
        data = await self._store.read(MANIFEST_NAME)
        sources = [data] if data is not None else []
        segments: list[str] = []
        async for info in self._store.list():
            if info.key.startswith(SEGMENTS):
                segments.append(info.key)
            else:
                self._listed[info.key] = info.size
        segments.sort()
        for key in segments:
            if (part := await self._store.read(key)) is not None:
                sources.append(part)
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
        bookkeeping = (INDEXES, f"{MARK_DIR}/")
        return {
            k: v for k, v in self._listed.items() if k not in own and not k.startswith(bookkeeping)
        }

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
        await self.record(file_entry(file, "ok", size=size, sha256=sha256, etag=etag))
        return True

    async def receive(self, file: PlannedFile, fetch: Fetch) -> DownloadResult:
        key = object_key(file.path)
        upload = self._store.upload(
            key, part_size=self._part_size, concurrency=self._part_concurrency
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
            await self._store.put(key, data)
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
        first: StoreError | None = None
        try:
            await self._save_segment()
            if self._shard is None:
                await self._compact()
        except StoreError as exc:
            first = exc
        if self._index_rows:
            rows, self._index_rows = self._index_rows, []
            try:
                await self._write_index(rows)
            except StoreError as exc:
                first = first or exc
        if first is not None:
            raise first

    async def _write_index(self, rows: list[dict[str, str]]) -> None:
        """Merge ``rows`` into ``index.csv``; a shard keeps them in its own index part too,
        and rebuilds ``index.csv`` from every part."""
        if self._shard is None:
            data = merge_index(await self._store.read(INDEX_NAME), rows)
            await self._store.put(INDEX_NAME, data)
            return
        part = f"{INDEXES}{shard_name(self._shard)}.csv"
        own = merge_index(await self._store.read(part), rows)
        await self._store.put(part, own)
        merged = await self._store.read(INDEX_NAME)
        async for info in self._store.list(INDEXES):
            text = await self._store.read(info.key)
            if text is not None:
                merged = merge_index(merged, index_rows(text))
        await self._store.put(INDEX_NAME, merged or own)

    async def manifest_parts(self) -> list[str]:
        """The keys of every manifest part (the shards' and unfinished runs'), sorted."""
        keys = [info.key async for info in self._store.list(SEGMENTS)]
        return sorted(k for k in keys if k.endswith(".jsonl"))

    async def merge_parts(self) -> MergeReport:
        """Replace ``manifest.jsonl`` and ``index.csv`` with the merge of every part (the
        shards' and unfinished runs'), each with one PUT: a reader sees the old or the new."""
        parts: list[str] = []
        index_parts: list[str] = []
        async for info in self._store.list():
            if info.key.startswith(SEGMENTS) and info.key.endswith(".jsonl"):
                parts.append(info.key)
            elif info.key.startswith(INDEXES) and info.key.endswith(".csv"):
                index_parts.append(info.key)
        parts.sort()
        manifest = await self._store.read(MANIFEST_NAME)
        if manifest is None and not parts:
            raise StoreUnavailable(
                f"no {MANIFEST_NAME} or {SEGMENTS} in {self.location}: not an archive"
            )
        texts = [manifest, *[await self._store.read(k) for k in parts]]
        indexes = [
            await self._store.read(INDEX_NAME),
            *[await self._store.read(k) for k in sorted(index_parts)],
        ]
        entries, lines = merge_texts(t for t in texts if t is not None)
        index = merge_indexes(t for t in indexes if t is not None)
        await self._store.put(MANIFEST_NAME, manifest_body(entries))
        if index is not None:
            await self._store.put(INDEX_NAME, index)
        self._entries = entries
        return report(self.location, parts, entries, lines, index)

    async def _compact(self) -> None:
        if not self._run_lines and not self._merged_segments:
            return
        # Read again: a run that finished meanwhile may have compacted its own lines in.
        data = await self._store.read(MANIFEST_NAME)
        current, _ = merge_texts([data] if data is not None else [])
        for entry in self._entries.values():
            keep_newest(current, entry)
        body = b"".join(encode_entry(e) for e in current.values())
        await self._store.put(MANIFEST_NAME, body)
        self._entries = current
        # Shard parts stay: their shards may be running now, and readers merge them anyway.
        runs = [k for k in self._merged_segments if k.startswith(f"{SEGMENTS}run-")]
        for key in [*runs, *self._segments]:
            # Merged already: if the delete fails, a later run merges it again, harmlessly.
            with contextlib.suppress(StoreError):
                await self._store.delete(key)
        self._merged_segments = []
