"""The archive in a local directory: files at their paths under OUT, manifest and index."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import anyio

from .._http.part_file import PartFile
from .._io.atomic import write_atomic
from ..download import DownloadResult
from ..errors import ArchiveWriteError
from .destination import Fetch, write_error
from .manifest import Manifest
from .manifest_log import LocalManifestLog, LoggedDestination
from .marks import MARK_DIR
from .out_lock import OutLock
from .plan import PlannedFile


class LocalDirectory(LoggedDestination):
    """A :class:`~hoverbentley.archive.destination.Destination` in directory ``root``.

    Files are fetched into ``PATH.part`` (:class:`~hoverbentley._http.part_file.PartFile`),
    renamed onto their final path once whole and verified; records and ``index.csv`` are
    replaced atomically; the manifest is appended a whole line at a time and compacted when
    the run ends.
    """

    log: LocalManifestLog

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.location = str(self.root)
        self.log = LocalManifestLog(self.root)
        #: Whether :meth:`open` made the directory, and whether :meth:`close` is to remove it
        #: if nothing was written in it (a run that failed at once).
        self.made = False
        self.discard_if_unused = False
        self._lock = OutLock(self.root)

    @property
    def manifest(self) -> Manifest:
        """The manifest file as the run reads and appends it."""
        return self.log.manifest

    def __repr__(self) -> str:
        return f"LocalDirectory({self.location!r})"

    async def open(self) -> None:
        try:
            await anyio.to_thread.run_sync(self._make_root)
            await anyio.to_thread.run_sync(self._lock.acquire)
        except OSError as exc:
            raise write_error(exc, self.location) from None
        try:
            await self.log.open()
        except BaseException:
            self._lock.release()
            raise

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            if self.discard_if_unused:
                self._remove_if_unused()
            self._lock.release()

    async def load(self) -> None:
        try:
            await anyio.to_thread.run_sync(self.manifest.load)
        except OSError as exc:
            raise write_error(exc, self.location) from None

    def _make_root(self) -> None:
        if self.root.exists() and not self.root.is_dir():
            raise ArchiveWriteError(f"cannot write {self.location}: it is a file, not a directory")
        self.made = not self.root.exists()
        self.root.mkdir(parents=True, exist_ok=True)

    def _remove_if_unused(self) -> None:
        """Remove the directory :meth:`open` made if nothing was written in it: a run
        refused at once (a filter the service cannot parse) leaves no empty OUT behind. It
        runs while the lock is held, so no other run is in the directory."""
        if self.made:
            with contextlib.suppress(OSError):  # not empty: it stays
                self._lock.remove_files()
                (self.root / MARK_DIR).rmdir()
                self.root.rmdir()

    async def is_complete(self, file: PlannedFile) -> bool:
        # A file's identity is its path: the host in its URL (a new port, another CDN) does
        # not make a complete file new.
        entry = self.log.completed(file.path)
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
            # The path the failure is about: the final one of a rename, else the part's.
            where = exc.filename2 or exc.filename or target
            raise write_error(exc, str(where)) from None

    async def write_record(self, path: str, data: bytes) -> None:
        target = self.root / path
        try:
            await anyio.to_thread.run_sync(_write_record, target, data)
        except OSError as exc:
            raise write_error(exc, str(target)) from None


def _write_record(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data)
