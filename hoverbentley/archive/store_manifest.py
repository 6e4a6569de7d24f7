"""The manifest and index of an archive in a store: run segments, shard parts, compaction.

Layout under the prefix: ``manifest.jsonl`` (compacted when a run ends) and ``index.csv``;
``manifests/run-*.jsonl``, a running run's lines, replaced at checkpoints and merged into
``manifest.jsonl`` when it ends; a shard (``--shard K/N``) keeps
``manifests/shard-K-of-N.jsonl`` and ``indexes/shard-K-of-N.csv`` instead, and every reader
merges all parts. Each object is written with one PUT: a reader sees the old or the new.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Mapping

import anyio

from .._http.clock import now
from ..stores import Store, StoreError, StoreUnavailable
from .index import INDEX_NAME, merge_index
from .manifest import MANIFEST_NAME, ManifestEntry, encode_entry
from .merge import (
    INDEX_PARTS,
    MANIFEST_PARTS,
    MergeReport,
    check_lines,
    index_rows,
    is_bookkeeping,
    keep_newest,
    manifest_body,
    merge_indexes,
    merge_texts,
    report,
)
from .shard import Shard, ShardBy, owns_file, shard_name

#: Where each run keeps its own manifest lines until the run ends.
SEGMENTS = MANIFEST_PARTS
#: Where each shard keeps its rows of the index.
INDEXES = INDEX_PARTS
#: Manifest lines per segment object before a run starts its next one.
_SEGMENT_LINES = 2000


class StoreManifest:
    """The manifest lines and index rows of one run into ``store``.

    Lines are written to the store at most ``checkpoint`` seconds after they happen (at once
    when :meth:`record` is told to). ``shard`` and ``shard_by`` (see
    :func:`~hoverbentley.archive.shard.owns_file`) say which lines this run's part keeps.
    """

    def __init__(
        self,
        store: Store,
        *,
        checkpoint: float = 5.0,
        shard: Shard | None = None,
        shard_by: ShardBy = "job",
    ) -> None:
        self._store = store
        self.location = store.location
        self._checkpoint = checkpoint
        self._entries: dict[str, ManifestEntry] = {}
        #: The lines that are no manifest entry, named (after :meth:`open`).
        self.unreadable: list[str] = []
        self._run_lines: list[bytes] = []
        self._written_lines = 0
        self._last_checkpoint = 0.0
        #: This run's name among the runs into the store.
        self.run_id = f"run-{time.time_ns():020d}-{os.urandom(4).hex()}"
        self._run = f"{SEGMENTS}{self.run_id}"
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

    async def open(self) -> None:
        """Load ``manifest.jsonl`` and the lines of runs that did not finish; note the size of
        every other object (see :meth:`sizes`)."""
        sources = [(MANIFEST_NAME, await self._store.read(MANIFEST_NAME))]
        segments: list[str] = []
        async for info in self._store.list():
            if info.key.startswith(SEGMENTS):
                segments.append(info.key)
            else:
                self._listed[info.key] = info.size
        segments.sort()
        for key in segments:
            sources.append((key, await self._store.read(key)))
        self._merged_segments = segments
        merged = merge_texts(sources)
        self._entries, self.unreadable = merged.entries, merged.unreadable

    def entry(self, path: str) -> ManifestEntry | None:
        """The newest line of ``path``."""
        return self._entries.get(path)

    def entries(self) -> list[str]:
        """The paths the manifest names (after :meth:`open`)."""
        return list(self._entries)

    def size(self, key: str) -> int | None:
        """The size of object ``key`` when :meth:`open` listed the store (None: not there)."""
        return self._listed.get(key)

    def listed(self) -> dict[str, int]:
        """Every archived object (not the bookkeeping) and its size, as :meth:`open` found."""
        return {k: v for k, v in self._listed.items() if not is_bookkeeping(k)}

    async def record(self, entry: ManifestEntry, *, save_now: bool = False) -> None:
        """Add ``entry``; write this run's part if a checkpoint is due or ``save_now``."""
        self._entries[entry.path] = entry
        self._run_lines.append(encode_entry(entry))
        due = now() - self._last_checkpoint >= self._checkpoint
        # A checkpoint under way carries the lines recorded before it; the next takes the rest.
        if save_now or (due and not self._lock.locked()):
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
        """Remember a job's row of ``index.csv`` (written by :meth:`close`)."""
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
        own = merge_index(await self._store.read(part), rows, part)
        await self._store.put(part, own)
        merged = await self._store.read(INDEX_NAME)
        async for info in self._store.list(INDEXES):
            text = await self._store.read(info.key)
            if text is not None:
                merged = merge_index(merged, index_rows(text, info.key))
        await self._store.put(INDEX_NAME, merged or own)

    async def manifest_parts(self) -> list[str]:
        """The keys of every manifest part (the shards' and unfinished runs'), sorted."""
        keys = [info.key async for info in self._store.list(SEGMENTS)]
        return sorted(k for k in keys if k.endswith(".jsonl"))

    async def merge_parts(self, *, allow_partial: bool = False) -> MergeReport:
        """Replace ``manifest.jsonl`` and ``index.csv`` with the merge of every part (the
        shards' and unfinished runs'), each with one PUT: a reader sees the old or the new.

        Lines that are no manifest entry stop the merge
        (:class:`~.merge.UnreadableManifestError`) unless ``allow_partial``."""
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
        texts = [(MANIFEST_NAME, manifest), *[(k, await self._store.read(k)) for k in parts]]
        merged = merge_texts(texts)
        check_lines(merged, allow_partial=allow_partial)
        entries = merged.entries
        indexes = [(INDEX_NAME, await self._store.read(INDEX_NAME))]
        indexes += [(k, await self._store.read(k)) for k in sorted(index_parts)]
        index = merge_indexes(indexes)
        await self._store.put(MANIFEST_NAME, manifest_body(entries))
        if index is not None:
            await self._store.put(INDEX_NAME, index)
        self._entries = entries
        return report(self.location, parts, merged, index)

    async def _compact(self) -> None:
        if not self._run_lines and not self._merged_segments:
            return
        # Read again: a run that finished meanwhile may have compacted its own lines in.
        current = merge_texts([(MANIFEST_NAME, await self._store.read(MANIFEST_NAME))]).entries
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
