"""One writer at a time in a local archive directory, across processes.

A run appends to ``manifest.jsonl`` and compacts it when it ends, and writes each file
through ``NAME.part``: two runs in one directory would drop each other's manifest lines and
write into each other's parts. A run (and ``manifest merge``) therefore holds an exclusive
lock on ``OUT/.hoverbentley/run.lock`` (``filelock``: ``flock`` on POSIX) while it writes; a
second one fails at once, naming the holder from ``run.json`` beside the lock. The lock goes
with the process that holds it, so a killed run leaves nothing to clean up. An archive in an
object store needs none of it: its runs and shards keep parts of their own.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import HoverBentleyError
from .marks import MARK_DIR

if TYPE_CHECKING:
    from filelock import BaseFileLock

LOCK_NAME = f"{MARK_DIR}/run.lock"
HOLDER_NAME = f"{MARK_DIR}/run.json"


class ArchiveBusyError(HoverBentleyError):
    """Another process is writing into the archive directory."""


class OutLock:
    """The lock of archive directory ``root``: :meth:`acquire` it before writing, and
    :meth:`release` it (idempotent) after."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock: BaseFileLock | None = None

    def acquire(self) -> None:
        """Take the lock, or raise :class:`ArchiveBusyError` naming its holder (blocking:
        call it from a worker thread)."""
        import filelock  # only a run that writes a directory needs it

        (self.root / MARK_DIR).mkdir(parents=True, exist_ok=True)
        lock = filelock.FileLock(self.root / LOCK_NAME, thread_local=False)
        try:
            lock.acquire(blocking=False)
        except filelock.Timeout:
            raise ArchiveBusyError(
                f"another run is writing into {self.root} ({_holder(self.root)}): wait for it"
                " to end, or archive into another directory"
            ) from None
        self._lock = lock
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "command": " ".join(a for a in sys.argv[1:3] if not a.startswith("-")),
        }
        with contextlib.suppress(OSError):  # only the message of a second run uses it
            (self.root / HOLDER_NAME).write_text(json.dumps(holder))

    def remove_files(self) -> None:
        """Remove the lock's files while holding it, when the directory itself goes (a run
        that wrote nothing removes the OUT it made); :meth:`release` still follows."""
        (self.root / HOLDER_NAME).unlink(missing_ok=True)
        (self.root / LOCK_NAME).unlink(missing_ok=True)

    def release(self) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            (self.root / HOLDER_NAME).unlink(missing_ok=True)
            lock.release()


def _holder(root: Path) -> str:
    """Who holds the lock, as its holder wrote it down."""
    try:
        holder = json.loads((root / HOLDER_NAME).read_text())
        return (
            f"process {holder['pid']} on {holder['host']} since {holder['since']}:"
            f" hoverbentley {holder['command']}"
        )
    except (OSError, ValueError, KeyError, TypeError):
        return "a process that has not said which"
