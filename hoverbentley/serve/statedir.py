"""One service per state directory: an exclusive lock held from start to drain.

Two processes sharing a journal would each replay, compact and append it, and archive each
event twice. The lock is ``filelock``'s (``flock`` on POSIX), taken without waiting on
``serve.lock`` in the directory; the kernel drops it when its process dies, so a crash leaves
nothing to clean up. The holder's pid and host name are written beside it, in ``serve.pid``,
for the error another process meets (on a volume two machines or containers share, a pid alone
does not say which process it is).
"""

from __future__ import annotations

import contextlib
import os
import socket
from pathlib import Path

import filelock

from .._io.atomic import atomic_writer
from ..errors import HoverBentleyError

LOCK_NAME = "serve.lock"
PID_NAME = "serve.pid"


class StateDirLocked(HoverBentleyError):
    """Another process holds the state directory (``pid`` and ``host``: its pid and host
    name, when they are known)."""

    def __init__(self, directory: Path, pid: int | None, host: str | None = None) -> None:
        self.directory = directory
        self.pid = pid
        self.host = host
        holder = f"process {pid}" if pid is not None else "another process"
        if host:
            holder += f" on {host}"
        super().__init__(
            f"the state directory {directory} is in use by {holder}: one service per state"
            " directory (stop the other, or give this one a state directory of its own)"
        )


class StateDirLock:
    """The exclusive lock of ``directory`` (created if needed). Blocking calls: from a
    thread in async code."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self._lock = filelock.FileLock(self.directory / LOCK_NAME, mode=0o600, thread_local=False)

    def acquire(self) -> None:
        """Take the lock, or raise :class:`StateDirLocked` at once if another holds it."""
        self.directory.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire(blocking=False)
        except filelock.Timeout:
            raise StateDirLocked(self.directory, *self._holder()) from None
        try:
            with atomic_writer(self.directory / PID_NAME, mode=0o600) as fh:
                fh.write(f"{os.getpid()} {socket.gethostname()}\n".encode())
        except BaseException:
            self._lock.release()
            raise

    def release(self) -> None:
        """Let the directory go (nothing if it is not held)."""
        if not self._lock.is_locked:
            return
        with contextlib.suppress(FileNotFoundError):
            (self.directory / PID_NAME).unlink()
        self._lock.release()

    def _holder(self) -> tuple[int | None, str | None]:
        """The pid and host name in ``serve.pid`` (the pid alone from earlier versions)."""
        try:
            pid, _, host = (self.directory / PID_NAME).read_text().strip().partition(" ")
            return int(pid), host or None
        except (OSError, ValueError):
            return None, None
