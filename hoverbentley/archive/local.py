"""The archive in a local directory: files at their paths under OUT, manifest and index."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import anyio

from .._http.part_file import PartFile
from .._io.atomic import write_atomic
from ..download import DownloadResult
from ..errors import ArchiveWriteError
from .destination import Fetch, write_error
from .index import INDEX_NAME, update_index
from .manifest import MANIFEST_NAME, Manifest, ManifestEntry
from .plan import PlannedFile


class LocalDirectory:
    """A :class:`~hoverbentley.archive.destination.Destination` in directory ``root``.

    Files are fetched into ``PATH.part`` (:class:`~hoverbentley._http.part_file.PartFile`),
    renamed onto their final path once whole and verified; records and ``index.csv`` are
    replaced atomically; the manifest is appended a whole line at a time and compacted when
    the run ends.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.location = str(self.root)
        self.manifest = Manifest(self.root)
        self._index_rows: list[dict[str, str]] = []

    def __repr__(self) -> str:
        return f"LocalDirectory({self.location!r})"

    def _where(self, path: str) -> str:
        return str(self.root / path)

    async def open(self) -> None:
        try:
            await anyio.to_thread.run_sync(self._make_root)
        except OSError as exc:
            raise write_error(exc, self.location) from None
        try:
            await anyio.to_thread.run_sync(self.manifest.open)
        except OSError as exc:
            raise write_error(exc, self._where(MANIFEST_NAME)) from None

    def _make_root(self) -> None:
        if self.root.exists() and not self.root.is_dir():
            raise ArchiveWriteError(f"cannot write {self.location}: it is a file, not a directory")
        self.root.mkdir(parents=True, exist_ok=True)

    def entry(self, path: str) -> ManifestEntry | None:
        return self.manifest.entries.get(path)

    async def is_complete(self, file: PlannedFile) -> bool:
        # A file's identity is its path: the host in its URL (a new port, another CDN) does
        # not make a complete file new.
        entry = self.manifest.completed(file.path)
        if entry is None:
            return False
        try:
            size = (self.root / file.path).stat().st_size
        except OSError:
            return False
        if entry.size is not None and size != entry.size:
            return False
        if file.size is not None and size != file.size:
            return False
        return not (file.etag and entry.etag and file.etag != entry.etag)

    async def receive(self, file: PlannedFile, fetch: Fetch) -> DownloadResult:
        target = self.root / file.path
        try:
            # The URL a file is listed under names its part: a rerun continues it.
            async with PartFile(target, file.url, md5=file.md5 is not None) as part:
                return await fetch(file, part)
        except OSError as exc:
            raise write_error(exc, str(target)) from None

    async def write_record(self, path: str, data: bytes) -> None:
        target = self.root / path
        try:
            await anyio.to_thread.run_sync(_write_record, target, data)
        except OSError as exc:
            raise write_error(exc, str(target)) from None

    async def record(self, entry: ManifestEntry) -> None:
        try:
            self.manifest.append(entry)
        except OSError as exc:
            raise write_error(exc, self._where(MANIFEST_NAME)) from None

    def add_index_row(self, row: Mapping[str, str]) -> None:
        self._index_rows.append(dict(row))

    async def close(self) -> None:
        """Close and compact the manifest, then write the index (the first failure raised)."""
        first: ArchiveWriteError | None = None
        try:
            await anyio.to_thread.run_sync(self.manifest.close)
            await anyio.to_thread.run_sync(self.manifest.compact)
        except OSError as exc:
            first = write_error(exc, self._where(MANIFEST_NAME))
        if self._index_rows:
            rows, self._index_rows = self._index_rows, []
            try:
                await anyio.to_thread.run_sync(update_index, self.root, rows)
            except OSError as exc:
                first = first or write_error(exc, self._where(INDEX_NAME))
        if first is not None:
            raise first


def _write_record(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data)
