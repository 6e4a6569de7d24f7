"""A download kept in ``PATH.part`` until it is whole: the local :class:`~.transfer.Writer`.

``PATH.part`` holds the bytes received so far and ``PATH.part.json`` the URL (or identity)
and strong ETag they belong to, so a later transfer, in this process or the next, continues
with a Range request guarded by ``If-Range``. ``PATH`` only ever holds a complete, verified
file: the part is fsynced and renamed onto it by :meth:`PartFile.end`.

The writer costs as few thread hops as it can. Chunks are gathered into batches of at least
``chunk_size`` bytes (:data:`LARGE_BATCH` past the first :data:`GROW_AFTER` bytes), each in
two stages that overlap with each other and with the event loop reading the next batch: one
worker-thread call hashes it while another writes it (``os.writev``, no copy into one
buffer); both release the GIL. The part is opened, truncated and its state recorded lazily
in the first write. A body that fits in one batch (photos,
most reports) is therefore hashed, written, fsynced, checked and renamed in a single call,
and the only step before its request is a stat on the event loop (is there a part to resume?).
A body of at most :data:`ON_LOOP` bytes that arrived whole takes no thread hop of its own: it
is hashed, checked and written on the event loop, and :func:`~.._io.commit.commit` makes it
durable and renames it with the other files completed at the same time (one ``syncfs`` per
batch instead of an ``fsync`` per file).
"""

from __future__ import annotations

import asyncio
import errno
import os
import stat
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import anyio
import msgspec

from .._io.atomic import replace_durably
from .._io.commit import commit
from .._io.threads import pool, run_blocking
from .digest import Digest

CHUNK_SIZE = 1024 * 1024
#: Once this much of a body is in the part, its batches grow to :data:`LARGE_BATCH`: a large
#: body costs a quarter of the thread calls, and the first bytes reach the disk as soon.
GROW_AFTER = 8 * 1024 * 1024
LARGE_BATCH = 4 * 1024 * 1024
#: ``O_NOFOLLOW``: a part that is a symbolic link is refused, never written through (it could
#: lead out of the archive, and the rename would leave the link at the final path).
_WRITE_FLAGS = (
    os.O_WRONLY
    | os.O_CREAT
    | getattr(os, "O_BINARY", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_NOFOLLOW", 0)
)
#: Most buffers handed to one ``os.writev`` (Linux allows 1024).
_MAX_PIECES = 512
#: A whole body up to this size is hashed and written on the event loop, not in a thread:
#: the hop costs more than the work (a 20 KiB file: tens of microseconds of hashing and
#: writing to the page cache).
ON_LOOP = 256 * 1024


class _PartState(msgspec.Struct):
    url: str
    etag: str


def part_path(dest: Path) -> Path:
    """Where the partial download of ``dest`` is kept."""
    return dest.with_name(dest.name + ".part")


def _state_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part.json")


class PartFile:
    """A :class:`~.transfer.Writer` that keeps the body in ``dest.part``, then renames it.

    Use it as an async context manager: entering takes up a part left by an earlier transfer
    of the same ``identity`` (the URL, or what names the file when its URL is re-signed), or
    removes it when ``resume`` is false or it belongs to something else; leaving writes what
    is still buffered (a later transfer resumes from it) and closes the file. ``md5`` says
    whether the digest takes the MD5 too (a transfer with an MD5 to check needs it).
    """

    def __init__(
        self,
        dest: str | os.PathLike[str],
        identity: str,
        *,
        md5: bool = False,
        resume: bool = True,
        chunk_size: int = CHUNK_SIZE,
    ) -> None:
        self.path = Path(dest)
        self._part = part_path(self.path)
        self._state = _state_path(self.path)
        self._key = identity
        self._resume = resume
        self._chunk_size = chunk_size
        self._large_batch = max(chunk_size, LARGE_BATCH)
        self.digest = Digest(md5)
        self.etag: str | None = None
        #: Bytes in the part that count (written), and those of the batch in the worker.
        self._stored = 0
        self._in_flight = 0
        #: A write that failed: the part keeps what reached it, and nothing more is written
        #: (a write past a short one would leave a gap that a resume takes for data).
        self._failed: BaseException | None = None
        #: Chunks not handed to the worker yet, and their length.
        self._batch: list[bytes | memoryview] = []
        self._batched = 0
        self._fd: int | None = None
        self._pending: asyncio.Future[int | None] | None = None
        self._hashing: asyncio.Future[None] | None = None
        #: The next call into the part drops its bytes and records (or removes) the state.
        self._restarted = False
        #: A state file may be beside the part (it goes before the rename).
        self._has_state = False

    def __repr__(self) -> str:
        return f"PartFile({str(self.path)!r})"

    @property
    def size(self) -> int:
        return self._stored + self._in_flight + self._batched

    async def __aenter__(self) -> PartFile:
        # The lookup stays on the loop: a stat answered from the kernel's cache of names
        # costs microseconds, a thread hop a hundred. Only a partial file costs a hop.
        if os.path.exists(self._part):  # noqa: ASYNC240
            if self._resume:
                found = await run_blocking(
                    _resume_point, self._part, self._state, self._key, self.digest
                )
                if found is not None:
                    self._stored, self.etag = found
                    self._has_state = True
            else:
                await run_blocking(_clear, self._state, self._part)
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def write(self, data: bytes | memoryview) -> None:
        if self._failed is not None:
            raise self._failed
        self._batch.append(data)
        self._batched += len(data)
        handed = self._stored + self._in_flight
        limit = self._chunk_size if handed < GROW_AFTER else self._large_batch
        if self._batched >= limit or len(self._batch) >= _MAX_PIECES:
            await self._flush()

    async def _flush(self) -> None:
        """Hand the batch to the two stages once the previous one is through both.

        One thread hashes the batch while another writes it and the loop reads the next:
        both release the GIL, so hashing, writing and reading overlap.
        """
        await self._wait()
        batch, size = self._batch, self._batched
        self._batch, self._batched = [], 0
        saved = (self._state, self._key, self.etag) if self._restarted else None
        if saved is not None and self.etag is not None:
            self._has_state = True
        loop = asyncio.get_running_loop()
        self._hashing = loop.run_in_executor(pool(), _hash, batch, self.digest)
        self._pending = loop.run_in_executor(
            pool(),
            _append,
            self._fd,
            self._part,
            self._stored,
            self._restarted,
            saved,
            batch,
        )
        self._in_flight = size
        self._restarted = False

    async def _wait(self) -> None:
        """Wait for the batch in the stages (the writer returns the part's descriptor); raise
        their error."""
        pending, self._pending = self._pending, None
        hashing, self._hashing = self._hashing, None
        if pending is None:
            return
        # Shielded: the descriptor must not be lost, nor closed while a worker writes to it.
        with anyio.CancelScope(shield=True):
            try:
                self._fd = await pending
            except BaseException as exc:
                self._failed, self._in_flight = exc, 0
                raise
            finally:
                if hashing is not None:
                    await hashing
        self._stored += self._in_flight
        self._in_flight = 0

    async def restart(self, etag: str | None) -> None:
        if self.size:
            self.digest = self.digest.fresh()
        self._batch, self._batched = [], 0
        self._stored = self._in_flight = 0  # the batch in the worker no longer counts
        self.etag = etag
        self._restarted = True

    async def end(self, check: Callable[[Digest], None]) -> None:
        """Write the rest, fsync, ``check`` and rename onto :attr:`path`, in one thread hop.

        If ``check`` raises, the part and its state are removed: the bytes are wrong.
        """
        await self._wait()
        fd, self._fd = self._fd, None
        batch, start = self._batch, self._stored
        self._stored += self._batched
        self._batch, self._batched = [], 0
        restarted, self._restarted = self._restarted, False
        has_state, self._has_state = self._has_state, False
        if fd is None and not start and not has_state and self._stored <= ON_LOOP:
            # The whole body is in hand and nothing of it is on disk: no thread hop.
            await self._end_on_loop(batch, check)
            return
        await run_blocking(
            _finish,
            fd,
            self._part,
            self.path,
            self._state,
            start,
            restarted,
            batch,
            self.digest,
            check,
            has_state,
        )

    async def _end_on_loop(
        self, batch: list[bytes | memoryview], check: Callable[[Digest], None]
    ) -> None:
        """Hash, check and write a whole small body here, then commit it with others."""
        _hash(batch, self.digest)
        check(self.digest)
        fd = _open_at(self._part, 0)
        try:
            _write_all(fd, batch)
        finally:
            os.close(fd)
        try:
            await commit(self._part, self.path)
        except BaseException:
            _clear(self._part)
            raise

    async def close(self) -> None:
        """Write what is buffered (a later transfer resumes from it) and close the part."""
        try:
            if self._batch and self._failed is None:
                await self._flush()
            await self._wait()
        finally:
            fd, self._fd = self._fd, None
            if fd is not None:
                await run_blocking(os.close, fd)


def _create(path: Path, flags: int) -> int:
    """Open ``path`` for writing, making its directory first if it is missing."""
    try:
        return os.open(path, flags, 0o666)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, flags, 0o666)


def _open_at(part: Path, start: int) -> int:
    """``part`` opened for writing at ``start``, anything after it dropped."""
    if not start:
        return _create(part, _WRITE_FLAGS | os.O_TRUNC)
    fd = _create(part, _WRITE_FLAGS)
    try:
        os.ftruncate(fd, start)
        os.lseek(fd, start, os.SEEK_SET)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _positioned(fd: int | None, part: Path, start: int, restarted: bool) -> int:
    """``fd`` ready for the next bytes: ``part`` opened at ``start`` if ``fd`` is None, emptied
    after a restart."""
    if fd is None:
        return _open_at(part, start)
    if restarted:
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _append(
    fd: int | None,
    part: Path,
    start: int,
    restarted: bool,
    saved: tuple[Path, str, str | None] | None,
    batch: list[bytes | memoryview],
) -> int:
    """Write ``batch`` at ``start`` of ``part``; the part's descriptor.

    A state file exists only beside its part file: ``saved`` is recorded after the part is
    created, and removed before it (``_clear``, ``_finish``), so a transfer that finds no
    part file has no state to clean up.
    """
    opened = fd is None
    fd = _positioned(fd, part, start, restarted)
    try:
        if saved is not None:
            _save_state(*saved)
        _write_all(fd, batch)
    except BaseException:
        if opened:
            os.close(fd)
        raise
    return fd


def _finish(
    fd: int | None,
    part: Path,
    final: Path,
    state: Path,
    start: int,
    restarted: bool,
    batch: list[bytes | memoryview],
    digest: Digest,
    check: Callable[[Digest], None],
    has_state: bool,
) -> None:
    """The last batch written, the part fsynced and closed, checked, renamed onto ``final``.

    A part whose bytes are all on disk already (a resume the server says is whole) is only
    checked and renamed.
    """
    if fd is not None or batch or restarted:
        try:
            fd = _positioned(fd, part, start, restarted)
            _hash_and_write(fd, batch, digest)
            os.fsync(fd)
        finally:
            if fd is not None:
                os.close(fd)
    try:
        check(digest)
    except BaseException:
        _clear(state, part)
        raise
    if has_state:
        _clear(state)
    replace_durably(part, final)


def _hash(batch: list[bytes | memoryview], digest: Digest) -> None:
    for piece in batch:
        digest.update(piece)


def _hash_and_write(fd: int, batch: list[bytes | memoryview], digest: Digest) -> None:
    _hash(batch, digest)
    _write_all(fd, batch)


def _write_all(fd: int, pieces: list[bytes | memoryview]) -> None:
    """Write every piece, in order, retrying short writes."""
    writev = getattr(os, "writev", None)
    views: list[bytes | memoryview] = list(pieces)
    while views:
        written = os.write(fd, views[0]) if writev is None else writev(fd, views)
        while views and written >= len(views[0]):
            written -= len(views[0])
            views.pop(0)
        if written:
            views[0] = memoryview(views[0])[written:]


def _clear(*paths: Path) -> None:
    """Remove ``paths`` in order: a state file goes before its part file."""
    for p in paths:
        p.unlink(missing_ok=True)


def _resume_point(part: Path, state: Path, key: str, digest: Digest) -> tuple[int, str] | None:
    """The part's length and ETag if its state names ``key`` (its bytes fed to ``digest``);
    else the part and its state are removed. A part that is no regular file (a link, a pipe)
    is an :class:`OSError` naming it, never read through."""
    fd = _open_regular(part)
    try:
        try:
            saved = msgspec.json.decode(_read_state(state), type=_PartState)
        except (OSError, msgspec.MsgspecError):
            saved = None
        if saved is None or saved.url != key or not saved.etag:
            _clear(state, part)
            return None
        size = 0
        with open(fd, "rb", closefd=False) as fh:
            while block := fh.read(CHUNK_SIZE):
                digest.update(block)
                size += len(block)
        return size, saved.etag
    finally:
        os.close(fd)


def _open_regular(path: Path) -> int:
    """``path`` opened for reading, if it is a regular file (not through a link; a pipe is
    not waited on)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0))
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "Is a directory", str(path))
        raise OSError(errno.EINVAL, "not a regular file", str(path))
    return fd


def _read_state(state: Path) -> bytes:
    fd = _open_regular(state)
    with open(fd, "rb") as fh:
        return fh.read(64 * 1024)  # a URL and an ETag


def _save_state(state: Path, key: str, etag: str | None) -> None:
    if etag is None:
        _clear(state)
        return
    _clear(state)  # a link in its place is removed, not written through
    fd = _create(state, _WRITE_FLAGS | os.O_TRUNC)
    with open(fd, "wb") as fh:
        fh.write(msgspec.json.encode(_PartState(url=key, etag=etag)))
