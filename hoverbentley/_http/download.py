"""Stream one file to disk: ``.part`` file, sha256 while streaming, resume, atomic rename."""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import anyio
import msgspec

from .._io.atomic import replace_durably
from .._io.threads import pool, run_blocking
from ..errors import APIConnectionError, APIStatusError, IntegrityError
from .body import BodyStream
from .clock import now
from .digest import Digest, check_md5
from .ranges import CannotResume, body_start, resume_headers, strong, unsatisfied_total
from .transport import Transport

logger = logging.getLogger("hoverbentley")

CHUNK_SIZE = 1024 * 1024
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)


@dataclass(frozen=True)
class DownloadResult:
    """A file that is complete at ``path``.

    ``received`` counts the body bytes transferred by this call (less than ``size`` when a
    partial file was resumed); ``resumed_from`` is the offset a resume started at.
    """

    path: Path
    size: int
    sha256: str
    etag: str | None
    received: int
    resumed_from: int


class _PartState(msgspec.Struct):
    url: str
    etag: str


def part_path(dest: Path) -> Path:
    """Where the partial download of ``dest`` is kept."""
    return dest.with_name(dest.name + ".part")


def _state_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part.json")


def _store_whole(part: Path, dest: Path, data: bytes, md5: str | None, url: str) -> Digest:
    """Hash, check, write, fsync and rename a body that arrived whole: one thread hop.

    Only a fresh download comes here, and a fresh one has no state file (see
    :func:`_open_part`), so there is none to remove.
    """
    digest = Digest(md5 is not None, data)
    check_md5(digest, md5, url)
    fd = _create(part, _WRITE_FLAGS | os.O_TRUNC)
    try:
        _write_all(fd, [data])
        os.fsync(fd)
    finally:
        os.close(fd)
    replace_durably(part, dest)
    return digest


def _create(path: Path, flags: int) -> int:
    """Open ``path`` for writing, making its directory first if it is missing."""
    try:
        return os.open(path, flags, 0o666)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, flags, 0o666)


def _hash_file(path: Path, hasher: Digest) -> tuple[int, Digest]:
    size = 0
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK_SIZE):
            hasher.update(block)
            size += len(block)
    return size, hasher


def _clear(*paths: Path) -> None:
    """Remove ``paths`` in order: a state file goes before its part file (see _open_part)."""
    for p in paths:
        p.unlink(missing_ok=True)


async def download_file(
    transport: Transport,
    url: str,
    dest: str | os.PathLike[str],
    *,
    authenticated: bool = True,
    resume: bool = True,
    chunk_size: int = CHUNK_SIZE,
    identity: str | None = None,
    md5: str | None = None,
) -> DownloadResult:
    """Download ``url`` to ``dest`` without holding the body in memory.

    The body goes to ``dest.part`` in writes of at least ``chunk_size`` bytes, hashed as it
    arrives, checked against the announced length, fsynced and renamed onto ``dest``; ``dest``
    therefore only ever holds a complete file. A broken transfer is resumed with a Range
    request guarded by ``If-Range`` (the ETag), and started over when the server ignores the
    range or the file changed. Body failures are retried with the client's retry policy.

    ``identity`` names the file for resuming when ``url`` changes between attempts (a
    re-signed storage URL); ``md5`` (base64, as in ``Content-MD5``) is checked before the rename.
    """
    final = Path(dest)
    part = part_path(final)
    state = _state_path(final)
    key = identity or url
    empty = Digest(md5 is not None)
    # A file that was never started (the usual case) costs one lookup here and a single
    # thread hop once its body has arrived; only a partial file is read in a thread first.
    # The lookup stays on the loop: a stat answered from the kernel's cache of names costs
    # microseconds, a thread hop a hundred.
    offset, etag, hasher = 0, None, empty.fresh()
    if os.path.exists(part):  # noqa: ASYNC240
        if resume:
            offset, etag, hasher = await run_blocking(_resume_point, part, state, key, empty)
        else:
            await run_blocking(_clear, state, part)
    resumed_from = offset
    policy = transport.retry_policy
    started = now()
    received = 0
    failures = 0
    while True:
        headers = resume_headers(offset, etag)
        try:
            async with transport.stream(
                url, headers=headers, authenticated=authenticated, started=started
            ) as body:
                offset, hasher, total = _position(body, offset, hasher)
                if offset == 0 and total is not None and total <= chunk_size:
                    data = await _read_all(body)
                    received += len(data)
                    _check_length(len(data), total, url)
                    whole = await run_blocking(_store_whole, part, final, data, md5, url)
                    return DownloadResult(
                        final,
                        len(data),
                        whole.hexdigest(),
                        body.headers.get("ETag"),
                        received,
                        resumed_from,
                    )
                new_etag = strong(body.headers.get("ETag"))
                if offset and new_etag != etag:
                    raise CannotResume()  # a different version: never splice two into one file
                saved: tuple[Path, str, str | None] | None = None
                if offset == 0:
                    etag = new_etag
                    saved = (state, key, etag)
                before = offset
                try:
                    offset = await _stream_to(body, part, offset, hasher, chunk_size, saved)
                finally:
                    received += offset - before if offset >= before else 0
                _check_length(offset, total, url)
        except CannotResume:
            offset, etag, hasher = 0, None, empty.fresh()
            continue
        except _PartialBody as exc:
            offset = exc.offset
            received += exc.received
            if not etag:
                offset, hasher = 0, empty.fresh()
            if transport.body_failed(exc.error.url or url):
                continue  # the host is down: wait for it in the next request, budget unspent
            failures += 1
            delay = policy.body_retry(failures, now() - started)
            if delay is None:
                raise exc.error from None
            logger.info(
                "resuming %s at byte %d in %.2f s: %s", final.name, offset, delay, exc.error
            )
            await anyio.sleep(delay)
            continue
        except APIStatusError as exc:
            if exc.status == 416 and offset:
                # The partial file may already be whole (a crash before the rename).
                if unsatisfied_total(exc.headers) == offset:
                    break
                offset, etag, hasher = 0, None, empty.fresh()
                continue
            raise
        break
    try:
        check_md5(hasher, md5, url)
    except IntegrityError:
        await run_blocking(_clear, state, part)
        raise
    await run_blocking(_finish, part, final, state)
    return DownloadResult(final, offset, hasher.hexdigest(), etag, received, resumed_from)


class _PartialBody(Exception):
    def __init__(self, error: APIConnectionError, offset: int, received: int) -> None:
        self.error = error
        self.offset = offset
        self.received = received


def _resume_point(
    part: Path, state: Path, url: str, empty: Digest
) -> tuple[int, str | None, Digest]:
    try:
        saved = msgspec.json.decode(state.read_bytes(), type=_PartState)
    except (OSError, msgspec.MsgspecError):
        saved = None
    if saved is None or saved.url != url or not saved.etag:
        _clear(state, part)
        return 0, None, empty.fresh()
    size, hasher = _hash_file(part, empty.fresh())
    return size, saved.etag, hasher


def _save_state(state: Path, url: str, etag: str | None) -> None:
    if etag is None:
        _clear(state)
        return
    state.write_bytes(msgspec.json.encode(_PartState(url=url, etag=etag)))


def _position(body: BodyStream, offset: int, hasher: Digest) -> tuple[int, Digest, int | None]:
    """Where this response's body starts in the file, its hasher, and the file's total size."""
    start, total = body_start(body.status, body.headers, body.content_length, offset)
    return start, (hasher if start == offset else hasher.fresh()), total


async def _read_all(body: BodyStream) -> bytes:
    """A body whose announced length fits one chunk (aiohttp reads no further)."""
    parts: list[bytes] = []
    try:
        async for chunk in body.chunks():
            parts.append(chunk)
    except APIConnectionError as exc:
        raise _PartialBody(exc, 0, sum(map(len, parts))) from None
    return b"".join(parts)


#: Most buffers handed to one ``os.writev`` (Linux allows 1024).
_MAX_PIECES = 512


async def _stream_to(
    body: BodyStream,
    part: Path,
    offset: int,
    hasher: Digest,
    chunk_size: int,
    saved: tuple[Path, str, str | None] | None,
) -> int:
    """Append the body to ``part`` from ``offset``; fsync it; the new length.

    ``saved`` (state file, key, ETag) is recorded for a later resume in the same thread hop
    that opens the file.
    """
    # Opening is shielded (run_blocking): a cancellation (Ctrl-C) arriving meanwhile would
    # otherwise leave an open descriptor behind.
    fd = await run_blocking(_open_part, part, offset, saved)
    writer = _PartWriter(fd, hasher, offset)
    try:
        return await _append(body, writer, chunk_size)
    finally:
        await writer.close()


def _open_part(part: Path, offset: int, saved: tuple[Path, str, str | None] | None) -> int:
    """Open ``part`` at ``offset``, then record ``saved``.

    A state file exists only beside its part file: it is written after the part is created,
    removed before it (``_clear``, ``_finish``), so a download that finds no part file has
    no state to clean up.
    """
    fd = _create(part, _WRITE_FLAGS)
    try:
        os.ftruncate(fd, offset)
        os.lseek(fd, offset, os.SEEK_SET)
        if saved is not None:
            _save_state(*saved)
    except BaseException:
        os.close(fd)
        raise
    return fd


class _PartWriter:
    """A ``.part`` file on a raw descriptor, written in batches off the event loop.

    Each batch is hashed and written in one worker-thread call (hashlib and ``os.writev``
    release the GIL on large buffers) while the event loop reads the next batch; at most one
    batch is in the worker at a time, so memory stays bounded and bytes stay in order.
    """

    def __init__(self, fd: int, hasher: Digest, offset: int) -> None:
        self._fd: int | None = fd
        self._hasher = hasher
        self._pending: asyncio.Future[None] | None = None
        self._queued = 0
        #: Bytes in the file, the batch in the worker not counted until it is written.
        self.written = offset

    async def write(self, batch: list[bytes], size: int) -> None:
        """Start writing ``batch`` (``size`` bytes) once the previous batch is written."""
        await self.wait()
        assert self._fd is not None
        loop = asyncio.get_running_loop()
        self._pending = loop.run_in_executor(pool(), _hash_and_write, self._fd, batch, self._hasher)
        self._queued = size

    async def wait(self) -> None:
        """Wait for the batch in the worker; raise its error, if any."""
        pending, self._pending = self._pending, None
        if pending is None:
            return
        # Shielded: the descriptor must not close while a worker still writes to it.
        with anyio.CancelScope(shield=True):
            await pending
        self.written += self._queued
        self._queued = 0

    async def finish(self, batch: list[bytes], size: int) -> None:
        """Write the last batch, fsync and close, in one thread hop."""
        await self.wait()
        fd, self._fd = self._fd, None
        assert fd is not None
        await run_blocking(_write_sync_close, fd, batch, self._hasher)
        self.written += size

    async def close(self) -> None:
        """Close the descriptor unless :meth:`finish` did (after the worker is done)."""
        try:
            await self.wait()
        finally:
            fd, self._fd = self._fd, None
            if fd is not None:
                await run_blocking(os.close, fd)


def _hash_and_write(fd: int, batch: list[bytes], hasher: Digest) -> None:
    for piece in batch:
        hasher.update(piece)
    _write_all(fd, batch)


def _write_sync_close(fd: int, batch: list[bytes], hasher: Digest) -> None:
    try:
        _hash_and_write(fd, batch, hasher)
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, pieces: list[bytes]) -> None:
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


async def _append(body: BodyStream, writer: _PartWriter, chunk_size: int) -> int:
    """Write the body in batches of at least ``chunk_size``; fsync; the new length."""
    # Chunks are not copied into one buffer: a batch is a list handed to os.writev.
    batch: list[bytes] = []
    pending = 0
    start = writer.written
    try:
        async for chunk in body.chunks():
            batch.append(chunk)
            pending += len(chunk)
            if pending >= chunk_size or len(batch) >= _MAX_PIECES:
                await writer.write(batch, pending)
                batch, pending = [], 0
    except APIConnectionError as exc:
        await writer.write(batch, pending)
        await writer.wait()
        raise _PartialBody(exc, writer.written, writer.written - start) from None
    await writer.finish(batch, pending)
    return writer.written


def _check_length(got: int, total: int | None, url: str) -> None:
    if total is not None and got != total:
        raise IntegrityError(f"received {got} bytes where {total} were announced", url=url)


def _finish(part: Path, final: Path, state: Path) -> None:
    _clear(state)
    replace_durably(part, final)
