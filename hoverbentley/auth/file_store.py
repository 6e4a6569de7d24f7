"""A token store in a JSON file, shared safely by the processes of one machine or volume.

The refresh runs under an exclusive lock on ``PATH.lock`` (filelock: ``flock`` on POSIX,
``msvcrt`` on Windows; the token file itself is replaced by an atomic rename, so it cannot
carry the lock). Whoever takes the lock reads the file again, and uses the tokens there if
another process refreshed meanwhile.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio

from .._io.atomic import write_atomic
from .._io.folders import file_in_the_way
from .token_store import StoreBase, StoredTokens, TokenStoreError, decode, encode

logger = logging.getLogger("hoverbentley")

#: How long a process waits for another one's refresh before giving up (seconds).
LOCK_TIMEOUT = 120.0


class JsonFileTokenStore(StoreBase):
    """Keeps tokens in a JSON file readable by its owner only (mode 0600), replaced atomically;
    refreshes are serialised across processes by a lock file beside it."""

    def __init__(self, path: str | os.PathLike[str], *, lock_timeout: float = LOCK_TIMEOUT) -> None:
        if not str(path).strip():
            raise TokenStoreError("the token file's path is empty")
        # Absolute: the location names the recovery file too, whatever the working directory.
        self.path = Path(os.path.abspath(Path(path).expanduser()))
        self.location = str(self.path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self._lock_timeout = lock_timeout
        #: How many rotations had to wait for another process's lock.
        self.waited = 0

    def __repr__(self) -> str:
        return f"JsonFileTokenStore({str(self.path)!r})"

    def _make_folder(self) -> None:
        """Make the token file's folder (the owner's only, as the file is, whatever the
        umask); a file in the way of it is a :class:`TokenStoreError` naming that file."""
        if (file := file_in_the_way(self.path.parent)) is not None:
            raise TokenStoreError(
                f"cannot write the token file {self.location}: {file} is a file, not a directory"
            )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise TokenStoreError(
                f"cannot make the token file's folder {self.path.parent}: {exc.strerror or exc}"
            ) from None

    async def _read(self) -> StoredTokens | None:
        try:
            data = await anyio.to_thread.run_sync(self.path.read_bytes)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise TokenStoreError(
                f"cannot read the token file {self.location}: {exc.strerror or exc}"
            ) from None
        return decode(data, self.location)

    async def _write(self, tokens: StoredTokens) -> None:
        def write() -> None:
            self._make_folder()
            write_atomic(self.path, encode(tokens), mode=0o600, concurrent_writers=True)

        try:
            await anyio.to_thread.run_sync(write)
        except OSError as exc:
            raise TokenStoreError(
                f"cannot write the token file {self.location}: {exc.strerror or exc}"
            ) from None

    @asynccontextmanager
    async def _exclusive(self) -> AsyncIterator[None]:
        import filelock  # only a refresh needs it (about 14 ms of every start otherwise)

        await anyio.to_thread.run_sync(self._make_folder)
        lock = filelock.AsyncFileLock(self.lock_path, mode=0o600, thread_local=False)
        try:
            await lock.acquire(blocking=False)
        except filelock.Timeout:
            self.waited += 1
            logger.info(
                "waiting for another process to refresh the Hover token (%s)", self.lock_path
            )
            try:
                await lock.acquire(timeout=self._lock_timeout)
            except filelock.Timeout:
                raise TokenStoreError(
                    f"another process has held {self.lock_path} for more than"
                    f" {self._lock_timeout:g} s while refreshing the Hover token (a process that"
                    " dies releases it; on a file system without locks, remove the file)"
                ) from None
        try:
            yield
        finally:
            await lock.release()
