"""``hoverbentley manifest merge OUT``: one compacted manifest and index from every part.

Sharded runs (``--shard K/N``) keep their lines in ``manifests/shard-K-of-N.jsonl`` and their
jobs in ``indexes/shard-K-of-N.csv``; a run that died keeps ``manifests/run-*.jsonl``. Merging
writes ``manifest.jsonl`` with the newest line of each path across all of them (and the old
``manifest.jsonl``) and ``index.csv`` with every part's rows, each as a new file or object
that replaces the old one, so a reader sees the old whole or the new whole. The parts stay:
a shard run again rewrites its own, and every reader merges them anyway.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

import msgspec

from .._io.atomic import write_atomic
from ..errors import ArchiveWriteError, ConfigurationError, HoverBentleyError
from .destination import write_error
from .index import INDEX_NAME, TAKEOFF_NAME, index_text, merge_index
from .manifest import (
    MANIFEST_NAME,
    ManifestEntry,
    encode_entry,
    parse_manifest,
    unreadable_lines,
)
from .marks import MARK_DIR
from .out_lock import OutLock
from .shard import IncompleteShardsError, shard_part_problems

#: Where runs and shards keep their manifest lines, and shards their index rows.
MANIFEST_PARTS = "manifests/"
INDEX_PARTS = "indexes/"
#: What an archive keeps about itself beside the files it archives: its manifest, index and
#: takeoff table, and the folders of the marks (and open uploads) and of the sharded runs'
#: parts.
_OWN_FILES = frozenset({MANIFEST_NAME, INDEX_NAME, TAKEOFF_NAME})
_OWN_FOLDERS = (f"{MARK_DIR}/", MANIFEST_PARTS, INDEX_PARTS)


def is_bookkeeping(path: str) -> bool:
    """Whether ``path`` (relative to the archive) is the archive's own, not an archived file."""
    return path in _OWN_FILES or path.startswith(_OWN_FOLDERS)


class MergeReport(msgspec.Struct, kw_only=True):
    """What a merge wrote: the parts it read, and the merged manifest's and index's sizes.

    ``shard_problems``: what :func:`~hoverbentley.archive.shard.shard_part_problems` found
    wrong with the shards' parts, and ``unreadable`` the lines that are no manifest entry,
    when the merge was allowed to go on regardless (those lines are not in the result).
    """

    out: str
    parts: list[str]
    lines: int
    files: int
    failed: int
    jobs: int
    shard_problems: list[str] = []
    unreadable: list[str] = []


class UnreadableManifestError(HoverBentleyError):
    """Lines of the manifest or its parts are no manifest entry: merging would drop them.

    ``lines`` names each (``manifests/shard-00001-of-00002.jsonl line 7 is not a manifest
    entry``).
    """

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        super().__init__(
            f"{'; '.join(lines)}; nothing was merged (--allow-partial merges without them)"
        )


def keep_newest(entries: dict[str, ManifestEntry], entry: ManifestEntry) -> None:
    """Keep ``entry`` unless ``entries`` holds a line of its path completed later."""
    old = entries.get(entry.path)
    if old is None or (old.completed_at or 0) <= (entry.completed_at or 0):
        entries[entry.path] = entry


class Merged(NamedTuple):
    """Manifest texts merged: the newest line of each path, how many lines they held, and
    the lines that are no entry (as :func:`~.manifest.unreadable_lines` names them)."""

    entries: dict[str, ManifestEntry]
    lines: int
    unreadable: list[str]


def merge_texts(sources: Iterable[tuple[str, bytes | None]]) -> Merged:
    """The newest line of each path across named manifest texts (by completion time, then
    order; a text that is ``None`` is not there)."""
    merged: dict[str, ManifestEntry] = {}
    lines = 0
    unreadable: list[str] = []
    for name, data in sources:
        if data is None:
            continue
        text = parse_manifest(data)
        lines += text.lines
        unreadable += unreadable_lines(name, text)
        for entry in text.entries.values():
            keep_newest(merged, entry)
    return Merged(merged, lines, unreadable)


def check_lines(merged: Merged, *, allow_partial: bool) -> None:
    """Raise :class:`UnreadableManifestError` when ``merged`` holds lines that are no entry,
    unless ``allow_partial``."""
    if merged.unreadable and not allow_partial:
        raise UnreadableManifestError(merged.unreadable)


def local_parts(root: Path) -> list[str]:
    """The names of the manifest parts in the archive directory ``root``, sorted; raises
    :class:`~hoverbentley.errors.ConfigurationError` naming ``manifest.jsonl`` or a part
    that is there but no file (a directory, say), which no reader could take for empty."""
    parts = _files(root, MANIFEST_PARTS, ".jsonl")
    for name in (MANIFEST_NAME, *parts):
        path = root / name
        if (path.exists() or path.is_symlink()) and not path.is_file():
            if path.is_dir():
                what = "a directory"
            else:
                what = "a link to nothing" if not path.exists() else "not a regular file"
            raise ConfigurationError(f"{path} is {what}, not a manifest")
    return parts


def local_texts(root: Path, parts: Iterable[str]) -> list[tuple[str, bytes | None]]:
    """``manifest.jsonl`` and the manifest ``parts`` of the archive directory ``root``, named,
    as :func:`merge_texts` takes them (``None``: not there)."""
    return [(MANIFEST_NAME, _read(root / MANIFEST_NAME)), *((p, _read(root / p)) for p in parts)]


def manifest_body(entries: dict[str, ManifestEntry]) -> bytes:
    """The text of a compacted manifest: one line per path, sorted by path."""
    return b"".join(encode_entry(entries[p]) for p in sorted(entries))


def index_rows(index: bytes, name: str = INDEX_NAME) -> list[dict[str, str]]:
    """The rows of the ``index.csv`` (or index part ``name``) whose bytes are ``index``."""
    return list(csv.DictReader(io.StringIO(index_text(index, name), newline="")))


def merge_indexes(sources: Iterable[tuple[str, bytes | None]]) -> bytes | None:
    """One index text holding every row of ``sources``, named indexes' bytes (``None``: not
    there); None when there are none. :class:`~.index.UnreadableIndexError` names one that
    is not UTF-8."""
    merged: bytes | None = None
    for name, data in sources:
        if data is not None:
            merged = merge_index(merged, index_rows(data, name))
    return merged


def report(out: str, parts: list[str], merged: Merged, index: bytes | None) -> MergeReport:
    """The :class:`MergeReport` of a merge of ``parts`` into ``merged`` and ``index`` (the
    lines that are no entry named: a merge went on without them)."""
    entries = merged.entries
    failed = sum(e.status != "ok" for e in entries.values())
    return MergeReport(
        out=out,
        parts=parts,
        lines=merged.lines,
        files=len(entries) - failed,
        failed=failed,
        jobs=len(index_rows(index)) if index is not None else 0,
        unreadable=merged.unreadable,
    )


def check_shards(parts: list[str], *, allow_partial: bool) -> list[str]:
    """The problems of the shards' manifest parts among ``parts``; raises
    :class:`~hoverbentley.archive.shard.IncompleteShardsError` when there are any and
    ``allow_partial`` is false."""
    problems = shard_part_problems(parts)
    if problems and not allow_partial:
        raise IncompleteShardsError(problems)
    return problems


def merge_local(root: str | Path, *, allow_partial: bool = False) -> MergeReport:
    """Merge the manifest and index parts of the archive directory ``root`` (parts copied
    there from the machines of a sharded run, say) into ``manifest.jsonl`` and ``index.csv``.

    It holds ``root``'s lock (a run appends to ``manifest.jsonl``): while a run writes
    there, :class:`~.out_lock.ArchiveBusyError` is raised and nothing is written. When a
    shard's part is missing or doubled, or the parts disagree on the number of shards (see
    :func:`~hoverbentley.archive.shard.shard_part_problems`), nothing is written and
    :class:`~hoverbentley.archive.shard.IncompleteShardsError` is raised; when a line is no
    manifest entry, :class:`UnreadableManifestError`. With ``allow_partial`` the parts there
    are, and the lines that are entries, are merged and the report names the problems.
    """
    root = Path(root)
    if not root.is_dir():
        raise ConfigurationError(f"OUT is not a directory: {root}")
    parts = local_parts(root)
    manifest = root / MANIFEST_NAME
    if not parts and not manifest.is_file():
        raise ConfigurationError(
            f"no {MANIFEST_NAME} or {MANIFEST_PARTS} in {root}: not an archive"
        )
    lock = OutLock(root)
    lock.acquire()  # no run appends while the merge rewrites the manifest
    try:
        return _merge_locked(root, parts, allow_partial=allow_partial)
    finally:
        lock.release()


def _merge_locked(root: Path, parts: list[str], *, allow_partial: bool) -> MergeReport:
    manifest = root / MANIFEST_NAME
    problems = check_shards(parts, allow_partial=allow_partial)
    merged_texts = merge_texts(local_texts(root, parts))
    check_lines(merged_texts, allow_partial=allow_partial)
    index_path = root / INDEX_NAME
    index_names = [INDEX_NAME, *_files(root, INDEX_PARTS)]
    index = merge_indexes((name, _read(root / name)) for name in index_names)
    try:
        write_atomic(manifest, manifest_body(merged_texts.entries))
    except OSError as exc:
        raise write_error(exc, str(manifest)) from None
    if index is not None:
        try:
            write_atomic(index_path, index)
        except OSError as exc:
            raise write_error(exc, str(index_path)) from None
    merged = report(str(root), parts, merged_texts, index)
    merged.shard_problems = problems
    return merged


async def merge_store(url: str, *, allow_partial: bool = False) -> MergeReport:
    """Merge the parts of the archive in the object store at ``url`` (``s3://…``, ``az://…``)
    into its ``manifest.jsonl`` and ``index.csv``; shard problems as in :func:`merge_local`."""
    from .object_store import ObjectStoreDestination  # it imports this module

    store = ObjectStoreDestination(url)
    problems = check_shards(await store.manifest_parts(), allow_partial=allow_partial)
    merged = await store.merge_parts(allow_partial=allow_partial)
    merged.shard_problems = problems
    return merged


def _files(root: Path, folder: str, suffix: str = ".csv") -> list[str]:
    directory = root / folder
    if not directory.is_dir():
        return []
    return sorted(f"{folder}{p.name}" for p in directory.iterdir() if p.name.endswith(suffix))


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ArchiveWriteError(f"cannot read {path}: {exc.strerror or exc}") from None
