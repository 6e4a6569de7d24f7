"""The :class:`~.base.Store` of a local directory: atomic renames, ``.part`` files, fsync."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path

import anyio

from .._io.atomic import replace_durably, write_atomic
from .base import ObjectInfo, PreconditionFailed, StoreError, UploadWatcher

_CHUNK = 1024 * 1024


def _version(st: os.stat_result) -> str:
    """A local file's ETag: its size and modification time in nanoseconds."""
    return f"{st.st_size:x}-{st.st_mtime_ns:x}"


def _etag(path: Path) -> str:
    return _version(path.stat())


def _walk(root: Path, prefix: str) -> list[ObjectInfo]:
    """The files under ``root`` whose keys start with ``prefix`` (``.part`` files are not)."""
    out: list[ObjectInfo] = []
    for folder, _, names in os.walk(root):
        for name in names:
            path = Path(folder, name)
            key = path.relative_to(root).as_posix()
            if key.startswith(prefix) and not name.endswith(".part"):
                st = path.stat()
                out.append(ObjectInfo(key, st.st_size, _version(st)))
    return out


class LocalStore:
    """Objects as files under ``root``; metadata is not kept (``stat`` has none).

    A conditional put compares the file's size and modification time (its ETag here) and
    renames a complete temporary file over it: safe within one process; processes sharing a
    directory serialise their writers themselves (a lock file).
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.location = str(self.root)

    def __repr__(self) -> str:
        return f"LocalStore({self.location!r})"

    def _path(self, key: str) -> Path:
        return self.root / key

    def _error(self, exc: OSError, key: str, verb: str = "write") -> StoreError:
        return StoreError(f"cannot {verb} {self._path(key)}: {exc.strerror or exc}")

    async def stat(self, key: str) -> ObjectInfo | None:
        path = self._path(key)
        try:
            st = await anyio.to_thread.run_sync(path.stat)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._error(exc, key, "read") from None
        if not path.is_file():
            return None
        return ObjectInfo(key, st.st_size, _version(st))

    async def list(self, prefix: str = "") -> AsyncIterator[ObjectInfo]:
        found = await anyio.to_thread.run_sync(_walk, self.root, prefix)
        for info in found:
            yield info

    async def read(self, key: str, start: int = 0, end: int | None = None) -> bytes | None:
        def read() -> bytes:
            with open(self._path(key), "rb") as fh:
                fh.seek(start)
                return fh.read() if end is None else fh.read(max(0, end - start))

        try:
            return await anyio.to_thread.run_sync(read)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._error(exc, key, "read") from None

    async def stream(self, key: str) -> AsyncIterator[bytes]:
        path = self._path(key)
        fh = await anyio.to_thread.run_sync(open, path, "rb")
        try:
            while block := await anyio.to_thread.run_sync(fh.read, _CHUNK):
                yield block
        finally:
            fh.close()

    async def put(
        self,
        key: str,
        data: bytes,
        *,
        attributes: Mapping[str, str] | None = None,
        if_match: str | None = None,
        if_absent: bool = False,
    ) -> str | None:
        path = self._path(key)

        def write() -> str:
            exists = path.exists()
            if if_absent and exists:
                raise PreconditionFailed(f"{path} exists already")
            if if_match is not None and (not exists or _etag(path) != if_match):
                raise PreconditionFailed(f"{path} changed since it was read")
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, data)
            return _etag(path)

        try:
            return await anyio.to_thread.run_sync(write)
        except OSError as exc:
            raise self._error(exc, key) from None

    def upload(
        self,
        key: str,
        *,
        part_size: int,
        concurrency: int,
        watcher: UploadWatcher | None = None,
    ) -> LocalUpload:
        return LocalUpload(self._path(key), key, self._error)

    async def delete(self, key: str) -> None:
        try:
            await anyio.to_thread.run_sync(self._path(key).unlink)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise self._error(exc, key, "delete") from None


class LocalUpload:
    """Bytes appended to ``PATH.part``, fsynced and renamed to ``PATH`` by :meth:`commit`."""

    def __init__(
        self, path: Path, key: str, error: Callable[[OSError, str, str], StoreError]
    ) -> None:
        self.name = key
        self._error = error
        self._path = path
        self._part = path.with_name(path.name + ".part")
        self._size = 0

    @property
    def size(self) -> int:
        return self._size

    async def write(self, data: bytes | memoryview) -> None:
        def append() -> None:
            self._part.parent.mkdir(parents=True, exist_ok=True)
            with open(self._part, "ab" if self._size else "wb") as fh:
                fh.write(data)

        try:
            await anyio.to_thread.run_sync(append)
        except OSError as exc:
            raise self._error(exc, self.name, "write") from None
        self._size += len(data)

    async def restart(self) -> None:
        await self.abort()

    async def commit(self, attributes: Mapping[str, str]) -> None:
        def finish() -> None:
            self._part.parent.mkdir(parents=True, exist_ok=True)
            with open(self._part, "ab") as fh:
                os.fsync(fh.fileno())
            replace_durably(self._part, self._path)

        try:
            await anyio.to_thread.run_sync(finish)
        except OSError as exc:
            raise self._error(exc, self.name, "write") from None

    async def abort(self) -> None:
        self._size = 0
        await anyio.to_thread.run_sync(lambda: self._part.unlink(missing_ok=True))
