"""Verify an archive: read every file its manifest records as complete again, and compare.

One implementation for both homes of an archive: a local directory (each file hashed on a
pool thread) and an object store (each object read back through
:class:`~hoverbentley.archive.object_store.ObjectStoreDestination`). Nothing is written.

The names of the shards' manifest parts are checked too (see
:func:`~hoverbentley.archive.shard.shard_part_problems`): a shard that never ran leaves no
part, and its files would otherwise be absent without a trace.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Awaitable, Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import anyio
import msgspec

from .._io.threads import run_blocking
from ..errors import ConfigurationError
from ..stores import parse_location
from .manifest import MANIFEST_NAME, ManifestEntry
from .merge import MANIFEST_PARTS, Merged, is_bookkeeping, local_parts, local_texts, merge_texts
from .shard import shard_part_problems

__all__ = ["Changed", "VerifyProgress", "VerifyReport", "verify_archive"]

#: What an interrupted run leaves in a local archive to resume from.
_PARTIAL = (".part", ".part.json", ".tmp")
#: Bytes read from a file at a time.
_BLOCK = 1024 * 1024


class Changed(msgspec.Struct, kw_only=True):
    """A file whose bytes are not those the manifest recorded."""

    path: str
    expected_sha256: str | None
    actual_sha256: str
    expected_size: int | None
    actual_size: int


class VerifyReport(msgspec.Struct, kw_only=True):
    """What :func:`verify_archive` found.

    ``files`` are the files the manifest records as complete (its newest line per path),
    ``bytes`` what was read of them, ``verified`` how many are whole. ``missing``, ``changed``
    and ``extra`` (there, but not in the manifest) name files; ``failed`` the files whose
    newest line is a failure; ``partial`` what an interrupted run left to resume (not an
    error). ``shard_problems`` says which shard's manifest part is missing or doubled, or
    that the parts disagree on the number of shards; they make the report not ``ok`` unless
    ``allow_partial``. ``unreadable`` names the manifest lines that are no entry (damage:
    the file such a line recorded cannot be vouched for); they make the report not ``ok``.
    """

    out: str
    files: int
    bytes: int
    verified: int
    missing: list[str]
    changed: list[Changed]
    extra: list[str]
    failed: list[str]
    partial: list[str]
    shard_problems: list[str] = []
    allow_partial: bool = False
    unreadable: list[str] = []

    @property
    def ok(self) -> bool:
        """Every recorded file is whole, nothing else is there, every manifest line is an
        entry, and every shard's part is there (or ``allow_partial``)."""
        shards_ok = self.allow_partial or not self.shard_problems
        found = self.missing or self.changed or self.extra or self.failed or self.unreadable
        return shards_ok and not found


class VerifyProgress(msgspec.Struct, frozen=True, kw_only=True):
    """How far :func:`verify_archive` is: ``done`` of ``total`` recorded files checked (the
    last one ``path``), ``bytes`` read so far."""

    path: str
    done: int
    total: int
    bytes: int


@dataclass
class _Contents:
    """What an archive holds, as a verifier needs it, wherever it is."""

    location: str
    #: The newest manifest line of each path.
    entries: Mapping[str, ManifestEntry]
    #: The archived files there (not the bookkeeping).
    found: Collection[str]
    partial: list[str]
    #: The names of the manifest parts (``manifests/shard-00000-of-00004.jsonl``, …).
    parts: list[str]
    #: ``(sha256, size)`` of the bytes at a path, read again (None: not there).
    read: Callable[[str], Awaitable[tuple[str, int] | None]]
    #: The manifest lines that are no entry, named.
    unreadable: list[str]


async def verify_archive(
    out: str | os.PathLike[str],
    *,
    workers: int = 4,
    progress: Callable[[VerifyProgress], object] | None = None,
    allow_partial: bool = False,
) -> VerifyReport:
    """Read every file the manifest of ``out`` records as complete again (``workers`` at a
    time) and compare its sha256 and size with its line; list missing, changed and extra
    files, and the problems of the shards' manifest parts. The manifest is ``manifest.jsonl``
    and every part under ``manifests/`` (shards', and runs' that did not finish), merged.

    ``out`` is a directory or an object store URL (``s3://bucket/prefix``,
    ``az://container/prefix``; the ``objectstore`` extra). ``progress`` is called after each
    recorded file, on the caller's event loop. Raises
    :class:`~hoverbentley.errors.ConfigurationError` when ``out`` is not an archive.
    """
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ConfigurationError(f"workers must be a whole number of at least 1, not {workers!r}")
    location = parse_location(out) if isinstance(out, str) else None
    if location is not None and location.scheme != "file":
        contents = await _store_contents(location.url)
    else:
        contents = await _local_contents(Path(location.prefix if location else out))
    return await _verify(contents, workers, progress, allow_partial)


async def _verify(
    contents: _Contents,
    workers: int,
    progress: Callable[[VerifyProgress], object] | None,
    allow_partial: bool,
) -> VerifyReport:
    entries = contents.entries
    recorded = [e for e in entries.values() if e.status == "ok"]
    missing: list[str] = []
    changed: list[Changed] = []
    done = read = 0

    async def check(entry: ManifestEntry) -> None:
        nonlocal done, read
        found = await contents.read(entry.path) if entry.path in contents.found else None
        if found is None:
            missing.append(entry.path)
        else:
            actual, size = found
            read += size
            sha_ok = entry.sha256 is None or entry.sha256 == actual
            if not sha_ok or (entry.size is not None and entry.size != size):
                changed.append(
                    Changed(
                        path=entry.path,
                        expected_sha256=entry.sha256,
                        actual_sha256=actual,
                        expected_size=entry.size,
                        actual_size=size,
                    )
                )
        done += 1
        if progress is not None:
            progress(VerifyProgress(path=entry.path, done=done, total=len(recorded), bytes=read))

    await _each(recorded, workers, check)
    return VerifyReport(
        out=contents.location,
        files=len(recorded),
        bytes=read,
        verified=len(recorded) - len(missing) - len(changed),
        missing=sorted(missing),
        changed=sorted(changed, key=lambda c: c.path),
        extra=sorted(p for p in contents.found if p not in entries),
        failed=sorted(p for p, e in entries.items() if e.status != "ok"),
        partial=sorted(contents.partial),
        shard_problems=shard_part_problems(contents.parts),
        allow_partial=allow_partial,
        unreadable=contents.unreadable,
    )


async def _each(
    items: Iterable[ManifestEntry],
    workers: int,
    call: Callable[[ManifestEntry], Awaitable[None]],
) -> None:
    """``call`` every item, ``workers`` at a time (without a task per item)."""
    pending = iter(items)

    async def work() -> None:
        for item in pending:
            await call(item)

    async with anyio.create_task_group() as group:
        for _ in range(workers):
            group.start_soon(work)


# A local directory.


async def _local_contents(root: Path) -> _Contents:
    manifest, paths = await run_blocking(_local_listing, root)
    found: set[str] = set()
    partial: list[str] = []
    for path in paths:
        if is_bookkeeping(path):
            continue
        if path.endswith(_PARTIAL):
            partial.append(path)
        else:
            found.add(path)

    async def read(path: str) -> tuple[str, int] | None:
        return await run_blocking(_digest, root.joinpath(*path.split("/")))

    parts = _parts(paths)
    return _Contents(str(root), manifest.entries, found, partial, parts, read, manifest.unreadable)


def _parts(paths: Iterable[str]) -> list[str]:
    return [p for p in paths if p.startswith(MANIFEST_PARTS) and p.endswith(".jsonl")]


def _local_listing(root: Path) -> tuple[Merged, list[str]]:
    """The manifest of the archive directory ``root`` merged with its parts (those of
    shards copied in, or of runs that did not finish), and every file under it."""
    if not root.is_dir():
        raise ConfigurationError(f"OUT is not a directory: {root}")
    parts = local_parts(root)
    paths = list(_on_disk(root))
    if MANIFEST_NAME not in paths and not parts:
        raise ConfigurationError(
            f"no {MANIFEST_NAME} or {MANIFEST_PARTS} in {root}: not an archive directory"
        )
    return merge_texts(local_texts(root, parts)), paths


def _on_disk(root: Path) -> Iterator[str]:
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        base = Path(folder).relative_to(root)
        for name in sorted(names):
            yield (base / name).as_posix()


def _digest(path: Path) -> tuple[str, int] | None:
    """The sha256 and size of file ``path`` (None: no such file)."""
    sha = hashlib.sha256()
    size = 0
    try:
        with open(path, "rb") as fh:
            while block := fh.read(_BLOCK):
                sha.update(block)
                size += len(block)
    except (FileNotFoundError, IsADirectoryError):
        return None
    return sha.hexdigest(), size


# An object store.


async def _store_contents(url: str) -> _Contents:
    from .object_store import ObjectStoreDestination  # it imports merge, as this module does

    store = ObjectStoreDestination(url)
    await store.load()  # reads, writes nothing
    entries = {p: e for p in store.entries() if (e := store.entry(p)) is not None}
    if not entries and not store.manifest.unreadable:
        raise ConfigurationError(f"no manifest in {store.location}: not an archive")
    listed = store.listed()
    parts = await store.manifest_parts()

    async def read(path: str) -> tuple[str, int] | None:
        actual = await store.sha256(path)
        return None if actual is None else (actual, listed[path])

    unreadable = store.manifest.unreadable
    return _Contents(store.location, entries, listed, [], parts, read, unreadable)
