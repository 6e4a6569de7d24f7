"""Where an archive is written: the :class:`Destination` protocol and its write error.

The pipeline knows a source (:class:`~hoverbentley.archive.plan.ArchiveSource`) and a
destination, and nothing else about either. :class:`~hoverbentley.archive.local.LocalDirectory`
is the first destination; :class:`~hoverbentley.archive.object_store.ObjectStoreDestination`
(``s3://``, ``az://``, ``gs://``, through :mod:`hoverbentley.stores`) the other.
"""

from __future__ import annotations

import errno
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

from .._http.transfer import DownloadResult, Writer
from ..errors import ArchiveWriteError
from .manifest import ManifestEntry
from .plan import PlannedFile

#: The source's ``fetch``: stream ``file`` into the writer the destination hands it, complete
#: and verified, or raise. A local directory hands a ``.part`` file
#: (:class:`~hoverbentley._http.part_file.PartFile`: resumed, verified and renamed onto the
#: file's path), an object store an upload (:class:`~hoverbentley._http.sink.SinkWriter`).
#: The pipeline passes the fetch through without looking at either.
Fetch = Callable[[PlannedFile, Writer], Awaitable[DownloadResult]]


def write_error(exc: OSError, where: str) -> ArchiveWriteError:
    """The :class:`ArchiveWriteError` for ``exc`` raised while writing ``where``."""
    if exc.errno == errno.ENOSPC:
        return ArchiveWriteError(
            f"no space left on the device while writing {where}: free some space and run the"
            " same command again to finish (completed files are kept)"
        )
    if exc.errno in (errno.ENOTDIR, errno.EEXIST) or isinstance(exc, NotADirectoryError):
        cause = "a file is in the way (not a directory)"
    elif isinstance(exc, IsADirectoryError):
        cause = "it is a directory"
    elif exc.errno == errno.ELOOP:
        cause = "it is a symbolic link (no file is written through one)"
    else:
        cause = exc.strerror or str(exc) or type(exc).__name__
    return ArchiveWriteError(f"cannot write {where}: {cause}")


class Destination(Protocol):
    """An archive's home: the files, each job's record, the manifest and the index.

    The pipeline calls :meth:`open` once, then for each job :meth:`write_record` and
    :meth:`add_index_row`, for each planned file :meth:`is_complete` and, when it is not,
    :meth:`receive`, and :meth:`record` for each line of the manifest; :meth:`close` runs once
    at the end, also after a failure or a cancellation. Paths are relative to the destination,
    ``/``-separated, made of safe segments (``hover/123/models/4/measurements.pdf``); a path is
    a file's identity across runs. Every write failure raises :class:`ArchiveWriteError`.

    :class:`~hoverbentley.archive.object_store.ObjectStoreDestination` implements it so:
    ``open`` reads ``PREFIX/manifest.jsonl`` and the parts of unfinished or sharded runs;
    ``write_record`` puts a small object; ``is_complete`` compares the manifest line with the
    object's size and stored sha256 metadata; ``receive`` hands the fetcher a writer over an
    upload (:class:`~hoverbentley._http.sink.SinkWriter`) that sends fixed-size parts while
    the body is hashed, and completes the upload only after the fetch returned and the checks
    passed (aborting it on any error), so no partial object is ever visible at a final key;
    ``record`` replaces the run's manifest part at checkpoints and ``close`` writes the
    manifest and ``index.csv`` as new objects that replace the old ones.
    """

    #: Where the archive is, as shown to people (a directory, ``s3://bucket/prefix``).
    location: str

    async def open(self) -> None:
        """Create the archive if needed and load what earlier runs recorded."""
        ...

    async def load(self) -> None:
        """Load what earlier runs recorded and write nothing, ever after (a dry run): then
        :meth:`entry` and :meth:`is_complete` answer, and nothing else is called."""
        ...

    def entry(self, path: str) -> ManifestEntry | None:
        """The current manifest line of ``path`` (from an earlier run or this one)."""
        ...

    async def is_complete(self, file: PlannedFile) -> bool:
        """Whether ``file`` is already archived whole (a rerun skips it without a request)."""
        ...

    async def receive(self, file: PlannedFile, fetch: Fetch) -> DownloadResult:
        """Store ``file`` by calling ``fetch(file, writer)`` with a writer of this destination.

        When it returns, the file is complete at its path; if it raises, nothing is visible
        there. Fetch errors (:class:`~hoverbentley.errors.HoverBentleyError`) pass through;
        errors of the destination's own writes become :class:`ArchiveWriteError`.
        """
        ...

    async def write_record(self, path: str, data: bytes) -> None:
        """Store a small file (a job's record) whole, replacing an older version atomically."""
        ...

    async def record(self, entry: ManifestEntry) -> None:
        """Add a line to the manifest (a file complete or failed); the newest line of a path
        wins."""
        ...

    def add_index_row(self, row: Mapping[str, str]) -> None:
        """Remember a job's row of ``index.csv``; the index is written by :meth:`close`."""
        ...

    async def close(self) -> None:
        """Write the index, make the manifest durable and keep one current line per path."""
        ...
