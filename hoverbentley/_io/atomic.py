"""Atomic, durable file replacement: a reader sees the old file or the new one, never a mix.

Every write goes to a temporary file beside the target (same directory, so the rename never
crosses a file system), is flushed and fsynced, renamed over the target with ``os.replace``,
and the directory is fsynced so the rename itself survives a power cut. On any failure the
temporary file is removed and the target is left as it was.

The functions block: call them from a worker thread in async code
(``await anyio.to_thread.run_sync(write_atomic, path, data)``).
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_writer", "fsync_directory", "replace_durably", "temp_path", "write_atomic"]

#: ``fsync`` errors that mean "this file system cannot sync a directory", not "the data is lost".
_UNSUPPORTED = frozenset({errno.EINVAL, errno.ENOTSUP, errno.EBADF})

PathLike = str | os.PathLike[str]


def fsync_directory(path: PathLike) -> None:
    """Flush a directory's entries (a rename in it) to disk.

    Skipped where the platform cannot open a directory (Windows, where ``os.replace`` is
    already durable through the file system's journal) or the file system does not support it.
    """
    if sys.platform == "win32":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in _UNSUPPORTED:
            raise
    finally:
        os.close(fd)


def replace_durably(source: PathLike, target: PathLike) -> None:
    """Rename a complete, fsynced ``source`` over ``target`` and fsync the directory."""
    os.replace(source, target)
    fsync_directory(Path(target).parent)


def temp_path(target: PathLike, *, concurrent_writers: bool = False) -> Path:
    """The temporary file a write of ``target`` goes through.

    By default ``NAME.tmp``: one writer per target, and a file left by a crash is taken over
    by the next write. With ``concurrent_writers`` (a file several processes may replace at
    once, such as a shared token store) each process and thread gets its own
    ``.NAME.PID.THREAD.tmp``.
    """
    target = Path(target)
    if concurrent_writers:
        return target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    return target.with_name(f"{target.name}.tmp")


@contextlib.contextmanager
def atomic_writer(
    target: PathLike, *, mode: int | None = None, concurrent_writers: bool = False
) -> Iterator[BinaryIO]:
    """Stream the new content of ``target``; it replaces ``target`` when the block ends.

    ``mode`` (for instance ``0o600``) is set on the new file whatever the umask; ``None``
    keeps the usual default. If the block raises, nothing at ``target`` changes and the
    temporary file is removed.

    >>> with atomic_writer("index.csv") as fh:
    ...     fh.write(b"provider,job_id\\n")
    """
    target = Path(target)
    tmp = temp_path(target, concurrent_writers=concurrent_writers)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, 0o666 if mode is None else mode)
    try:
        if mode is not None and hasattr(os, "fchmod"):
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fd = -1  # owned by ``fh`` from here on
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        replace_durably(tmp, target)
    except BaseException:
        if fd != -1:
            os.close(fd)
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_atomic(
    target: PathLike,
    data: bytes | bytearray | memoryview,
    *,
    mode: int | None = None,
    concurrent_writers: bool = False,
) -> None:
    """Replace ``target`` with ``data``, atomically and durably (see :func:`atomic_writer`)."""
    with atomic_writer(target, mode=mode, concurrent_writers=concurrent_writers) as fh:
        fh.write(data)


def write_output(target: PathLike, data: bytes) -> None:
    """Write ``data`` where a user named an output file: through a symbolic link (the file it
    names is replaced atomically, the link stays), straight into a device or a pipe
    (``/dev/stdout``, a FIFO: there is nothing to replace), else as :func:`write_atomic`."""
    path = Path(os.path.realpath(target))
    if path.exists() and not path.is_file():
        with open(path, "wb") as fh:
            fh.write(data)
        return
    write_atomic(path, data)
