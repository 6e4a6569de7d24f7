"""Renames written files into place durably, many at a time, with one ``syncfs`` per batch.

A small download is written on the event loop (microseconds, to the page cache) and then
committed here. The commits of one turn of the loop form a batch: one ``syncfs`` per file
system makes their bytes durable at once, the loop renames each onto its final path and
hands the renames to the next ``syncfs``, which returns the commits. The ``syncfs`` runs in
a file-work thread, or on the loop itself for a file system where it has been measured to
cost less than a thread hop (tmpfs: microseconds; see :data:`ON_LOOP_BELOW`).

A file is therefore at its final path only once its bytes are on disk, and a commit returns
only once its rename is durable too: what the caller records after it (a manifest line)
never names a file a power cut could lose. The renames of one batch ride on the ``syncfs``
that makes the next batch's bytes durable, and under load the batches grow by themselves:
while one syncs, the next collects.

Where there is no ``syncfs`` (not Linux), each commit is an ``fsync``, a rename and a
directory ``fsync`` in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import anyio

from .atomic import replace_durably
from .threads import pool, run_blocking

__all__ = ["commit"]

#: Directories whose device is remembered: a run of many jobs has thousands.
_DEVICES_KEPT = 256

#: (the file's path, its final path, the future its committer waits on)
_Item = tuple[Path, Path, "asyncio.Future[None]"]


def _load_syncfs() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    import ctypes  # here: only a process that commits a file pays for the import

    try:
        fn = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int]
    fn.restype = ctypes.c_int
    return fn


#: A ``syncfs`` that took less than this (seconds) is cheaper than a thread hop: the file
#: system's next ones are done on the event loop (tmpfs: microseconds). One that takes longer
#: sends them back to the thread.
ON_LOOP_BELOW = 0.0002


def _sync_each(
    syncfs: Callable[[int], int], directories: list[str]
) -> list[tuple[OSError | None, float]]:
    """``syncfs`` of the file system of each directory: each one's error and duration.

    It never raises: a failure is the error of its directory's files."""
    import ctypes

    done: list[tuple[OSError | None, float]] = []
    for directory in directories:
        started = time.perf_counter()
        try:
            fd = os.open(directory, os.O_RDONLY)
            try:
                failed = syncfs(fd) != 0
            finally:
                os.close(fd)
        except OSError as exc:
            done.append((exc, 0.0))
            continue
        except Exception as exc:  # never lost: every file waiting is told
            done.append((OSError(f"syncfs failed: {exc}"), 0.0))
            continue
        error = OSError(ctypes.get_errno(), "syncfs failed", directory) if failed else None
        done.append((error, time.perf_counter() - started))
    return done


class _Batch:
    """What one ``syncfs`` round makes durable, per file system (by device number)."""

    def __init__(self) -> None:
        #: Written files to rename once durable, and renamed files to return once durable.
        self.written: dict[int, list[_Item]] = {}
        self.renamed: dict[int, list[_Item]] = {}

    def __bool__(self) -> bool:
        return bool(self.written or self.renamed)

    def devices(self) -> list[int]:
        return sorted(set(self.written) | set(self.renamed))


class _Committer:
    """One per event loop: the loop's side of the batches, and their ``syncfs`` calls."""

    def __init__(self, loop: asyncio.AbstractEventLoop, syncfs: Callable[[int], int]) -> None:
        self.loop = loop
        self._syncfs = syncfs
        #: A directory on each device seen (to sync it by), the device of each directory
        #: seen, and the devices whose ``syncfs`` is cheap enough for the loop.
        self._directory_of: dict[int, str] = {}
        self._device_of: dict[Path, int] = {}
        self._on_loop: set[int] = set()
        self._next = _Batch()
        self._syncing = self._scheduled = False

    def submit(self, source: Path, target: Path) -> asyncio.Future[None]:
        directory = target.parent
        device = self._device_of.get(directory)
        if device is None:
            if len(self._device_of) >= _DEVICES_KEPT:
                self._device_of.clear()  # a stat again costs less than a run's every directory
            device = self._device_of[directory] = os.stat(directory).st_dev
            self._directory_of.setdefault(device, str(directory))
        future: asyncio.Future[None] = self.loop.create_future()
        self._next.written.setdefault(device, []).append((source, target, future))
        self._schedule()
        return future

    def _schedule(self) -> None:
        # The commits of one turn of the loop go together.
        if not (self._scheduled or self._syncing):
            self._scheduled = True
            self.loop.call_soon(self._start)

    def _start(self) -> None:
        self._scheduled = False
        if self._syncing or not self._next:
            return
        batch, self._next = self._next, _Batch()
        devices = batch.devices()
        directories = [self._directory_of[d] for d in devices]
        if self._on_loop.issuperset(devices):
            self._synced(batch, devices, _sync_each(self._syncfs, directories))
            return
        self._syncing = True
        pool().submit(self._sync, batch, devices, directories)

    def _sync(self, batch: _Batch, devices: list[int], directories: list[str]) -> None:
        """In a file-work thread: one ``syncfs`` per device, then back to the loop."""
        done = _sync_each(self._syncfs, directories)
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
            self.loop.call_soon_threadsafe(self._synced, batch, devices, done, True)

    def _synced(
        self,
        batch: _Batch,
        devices: list[int],
        done: list[tuple[OSError | None, float]],
        in_thread: bool = False,
    ) -> None:
        """On the loop: return the renamed files, rename the written ones, sync again."""
        if in_thread:
            self._syncing = False
        errors: dict[int, OSError | None] = {}
        for device, (error, took) in zip(devices, done, strict=True):
            errors[device] = error
            if took < ON_LOOP_BELOW:
                self._on_loop.add(device)
            else:
                self._on_loop.discard(device)
        for device, items in batch.renamed.items():
            for _, _, future in items:
                _settle(future, errors[device])
        for device, items in batch.written.items():
            for item in items:
                source, target, future = item
                error = errors[device]
                if error is None:
                    try:
                        os.replace(source, target)
                    except OSError as exc:
                        error = exc
                if error is not None:
                    _settle(future, error)
                else:
                    self._next.renamed.setdefault(device, []).append(item)
        if self._next:
            self._schedule()


def _settle(future: asyncio.Future[None], error: OSError | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


#: The committer of the running loop (a new loop gets a new one).
_committer: _Committer | None = None
_syncfs: list[Callable[[int], int] | None] = []


async def commit(source: Path, target: Path) -> None:
    """Rename the written file ``source`` onto ``target`` once its bytes are durable.

    Returns once the rename is durable too; on an error ``source`` may be left where it is
    (the caller removes it). The wait cannot be cancelled half-way: a cancelled caller still
    waits for its batch.
    """
    if not _syncfs:
        _syncfs.append(_load_syncfs())
    syncfs = _syncfs[0]
    if syncfs is None:
        await run_blocking(_fsync_and_replace, source, target)
        return
    global _committer
    loop = asyncio.get_running_loop()
    if _committer is None or _committer.loop is not loop:
        _committer = _Committer(loop, syncfs)
    future = _committer.submit(source, target)
    with anyio.CancelScope(shield=True):
        await future


def _fsync_and_replace(source: Path, target: Path) -> None:
    fd = os.open(source, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    replace_durably(source, target)
