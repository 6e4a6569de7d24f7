"""One manifest log over any destination: what was archived, kept where the archive is.

A destination records a manifest line per file and an index row per job through a
:class:`ManifestLog`; two backends keep them: :class:`LocalManifestLog` appends whole lines to
``OUT/manifest.jsonl`` and compacts it when the run ends, and
:class:`~hoverbentley.archive.store_manifest.StoreManifest` keeps a running run's lines in
segment objects of a store and compacts them into ``manifest.jsonl``. :class:`LoggedDestination`
is what both destinations share: the manifest and index part of the
:class:`~hoverbentley.archive.destination.Destination` protocol, handed to the log.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

import anyio

from ..errors import ArchiveWriteError
from .destination import write_error
from .index import INDEX_NAME, update_index
from .manifest import MANIFEST_NAME, Completed, Manifest, ManifestEntry


class ManifestLog(Protocol):
    """The manifest lines and index rows of an archive, as one run reads and writes them."""

    #: Where the archive is, as shown to people.
    location: str

    async def open(self) -> None:
        """Load what earlier runs recorded."""
        ...

    def entry(self, path: str) -> ManifestEntry | None:
        """The newest line of ``path``."""
        ...

    def entries(self) -> list[str]:
        """The paths the manifest names."""
        ...

    async def record(self, entry: ManifestEntry, *, save_now: bool = False) -> None:
        """Add a line (``save_now``: make it durable before returning)."""
        ...

    def add_index_row(self, row: Mapping[str, str]) -> None:
        """Remember a job's row of ``index.csv`` (written by :meth:`close`)."""
        ...

    async def close(self) -> None:
        """Make the lines durable, keep one current line per path, and write the index."""
        ...


class LocalManifestLog:
    """The :class:`ManifestLog` of a directory: ``manifest.jsonl`` appended a whole line at a
    time (durable when the run ends, compacted then) and ``index.csv`` replaced atomically."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.location = str(self.root)
        self.manifest = Manifest(self.root)
        self._index_rows: list[dict[str, str]] = []

    def _where(self, name: str) -> str:
        return str(self.root / name)

    async def open(self) -> None:
        try:
            await anyio.to_thread.run_sync(self.manifest.open)
        except OSError as exc:
            raise write_error(exc, self._where(MANIFEST_NAME)) from None

    def entry(self, path: str) -> ManifestEntry | None:
        return self.manifest.entries.get(path)

    def entries(self) -> list[str]:
        return list(self.manifest.entries)

    def completed(self, path: str) -> Completed | None:
        """What is known of ``path`` when it is complete (``None`` otherwise)."""
        return self.manifest.completed(path)

    async def record(self, entry: ManifestEntry, *, save_now: bool = False) -> None:
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


class LoggedDestination:
    """The manifest and index part of a destination, handed to its :attr:`log`."""

    log: ManifestLog

    def entry(self, path: str) -> ManifestEntry | None:
        return self.log.entry(path)

    def entries(self) -> list[str]:
        """The paths the manifest names (after ``open``)."""
        return self.log.entries()

    def _save_now(self, entry: ManifestEntry) -> bool:
        """Whether ``entry`` must be durable before the run goes on (see the destinations)."""
        return False

    async def record(self, entry: ManifestEntry) -> None:
        await self.log.record(entry, save_now=self._save_now(entry))

    def add_index_row(self, row: Mapping[str, str]) -> None:
        self.log.add_index_row(row)

    async def close(self) -> None:
        """Make the manifest durable and compact, and write the index."""
        await self.log.close()
