"""``OUT/manifest.jsonl``: one line per file, appended as each file completes or fails.

A run appends; when it ends the manifest is compacted to one current line per path.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import NamedTuple

import msgspec

from .._io.atomic import atomic_writer
from ..redact import redact_url
from .plan import PlannedFile

MANIFEST_NAME = "manifest.jsonl"

logger = logging.getLogger("hoverbentley.archive")


class ManifestEntry(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A file's record: where it is (relative to OUT), where it came from, and its checksum."""

    path: str
    url: str
    size: int | None = None
    sha256: str | None = None
    etag: str | None = None
    job_id: str
    #: The job's part the file belongs to (a Hover model, a Bentley output); ``model_id`` in
    #: the file, as it always was.
    part_id: str | None = msgspec.field(default=None, name="model_id")
    kind: str
    format: str | None = None
    #: The artifact key (``measurements.full_json``) or blob name the file came from.
    key: str | None = None
    status: str  # "ok" or "failed"
    error: str | None = None
    completed_at: float | None = None


def file_entry(
    file: PlannedFile,
    status: str,
    *,
    size: int | None = None,
    sha256: str | None = None,
    etag: str | None = None,
    error: str | None = None,
) -> ManifestEntry:
    """The line of a planned file: where it is and came from, the outcome (``"ok"`` with what
    was stored, or ``"failed"`` with the error), and when."""
    return ManifestEntry(
        path=file.path,
        url=redact_url(file.url),  # a password in the base URL stays out of OUT
        size=size,
        sha256=sha256,
        etag=etag,
        job_id=file.job_id,
        part_id=file.part_id,
        kind=file.kind,
        format=file.format,
        key=file.key,
        status=status,
        error=error,
        completed_at=time.time(),
    )


class Completed(NamedTuple):
    """What deciding that a file is complete needs of its line: its size and ETag (a run of
    many files keeps these for each, so nothing more)."""

    size: int | None
    etag: str | None


_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(ManifestEntry)


class Manifest:
    """The manifest of one archive directory.

    The newest line for a path wins. A torn last line (a crash mid-write) is ignored.
    Each entry is written with a single ``write`` so a killed process leaves whole lines.
    """

    def __init__(self, root: Path) -> None:
        self.path = root / MANIFEST_NAME
        #: The lines of the file that are no manifest entry, as :func:`unreadable_lines`
        #: names them (after :meth:`load`).
        self.unreadable: list[str] = []
        #: The newest line of each path loaded from the file, and the job records appended
        #: since; a file appended by this process is kept only as :class:`Completed` (a run
        #: of many files holds two fields per file, not every line).
        self.entries: dict[str, ManifestEntry] = {}
        self._appended: dict[str, Completed | None] = {}
        self._fd: int | None = None
        #: Whether the file may hold more lines than paths (a path appended again, or a
        #: file loaded with such lines).
        self._superseded = False

    def load(self) -> None:
        """Read the existing manifest, if any."""
        text = _read(self.path)
        self.entries.update(text.entries)
        self._superseded = self._superseded or text.lines != len(text.entries)
        self.unreadable = unreadable_lines(MANIFEST_NAME, text)

    def completed(self, path: str) -> Completed | None:
        """Size and ETag of ``path`` if its newest line says it is complete."""
        if path in self._appended:
            return self._appended[path]
        entry = self.entries.get(path)
        if entry is None or entry.status != "ok":
            return None
        return Completed(entry.size, entry.etag)

    def open(self) -> None:
        """Load the existing manifest and open it for appending (a torn last line is ended).

        A manifest that does not exist yet is created by the first line: a run that records
        nothing (a refused token, say) leaves no empty file behind.
        """
        self.load()
        warn_unreadable(self.path.parent, self.unreadable)
        if self.path.exists():
            self._open_for_append()

    def _open_for_append(self) -> None:
        if self._fd is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size and not _ends_with_newline(self.path, size):
                os.write(fd, b"\n")
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def append(self, entry: ManifestEntry) -> None:
        """Record ``entry`` now (one ``write`` of one whole line)."""
        self._open_for_append()
        assert self._fd is not None
        line = memoryview(_ENCODER.encode(entry) + b"\n")
        # Only a second line for a path makes the file longer than its paths; a run of new
        # files leaves nothing to compact (and reading it all back would cost its size).
        path = entry.path
        self._superseded = self._superseded or path in self.entries or path in self._appended
        while line:  # a short write (a disk filling up) is continued, and then raises
            line = line[os.write(self._fd, line) :]
        if entry.kind == "job":
            self.entries[path] = entry
            return
        self.entries.pop(path, None)
        ok = entry.status == "ok"
        self._appended[path] = Completed(entry.size, entry.etag) if ok else None

    def close(self) -> None:
        """Flush the manifest to disk and close it."""
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def compact(self) -> bool:
        """Rewrite the manifest with the newest line of each path only, atomically.

        The file is read again first, so lines another writer appended are kept. Nothing is
        written when every line is already current; returns whether the file was rewritten.
        """
        if not self._superseded:
            return False  # loaded with one line per path and nothing appended since
        entries, lines, _ = _read(self.path)
        self._superseded = False
        if lines == len(entries):
            return False
        with atomic_writer(self.path) as fh:
            for entry in entries.values():
                fh.write(_ENCODER.encode(entry) + b"\n")
        self.entries, self._appended = entries, {}
        return True


def encode_entry(entry: ManifestEntry) -> bytes:
    """``entry`` as one manifest line, newline included."""
    return _ENCODER.encode(entry) + b"\n"


def _read(path: Path) -> ManifestText:
    """The manifest file ``path``, parsed (empty when there is none)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return ManifestText({}, 0, [])
    return parse_manifest(data)


class ManifestText(NamedTuple):
    """A manifest text, parsed: the newest entry of each path, how many non-empty lines it
    has, and the numbers (from 1) of the lines that are damaged (see :func:`parse_manifest`)."""

    entries: dict[str, ManifestEntry]
    lines: int
    unreadable: list[int]


def parse_manifest(data: bytes) -> ManifestText:
    """Manifest text ``data``, parsed; lines are numbered as editors and ``grep -n`` count
    them (the file is written with ``\\n`` only; a ``\\r`` before it is dropped).

    A line that opens an entry (``{``) and stops short of its end (``}``) is what a run
    killed while writing it leaves, at the end of the file or, once the next run went on
    after it, inside: it is skipped, and the next compaction drops it. Any other line that is
    no entry is damage; its number is returned.
    """
    entries: dict[str, ManifestEntry] = {}
    unreadable: list[int] = []
    lines = 0
    for number, line in enumerate(data.split(b"\n"), 1):
        line = line.removesuffix(b"\r")
        if not line.strip():
            continue
        lines += 1
        try:
            entry = _DECODER.decode(line)
        except msgspec.MsgspecError:
            if not _cut_short(line):
                unreadable.append(number)
            continue
        entries[entry.path] = entry
    return ManifestText(entries, lines, unreadable)


def _cut_short(line: bytes) -> bool:
    line = line.strip()
    return line.startswith(b"{") and not line.endswith(b"}")


def unreadable_lines(name: str, text: ManifestText) -> list[str]:
    """One message per damaged line of ``text`` (the manifest or part ``name``)."""
    return [f"{name} line {n} is not a manifest entry" for n in text.unreadable]


def warn_unreadable(location: object, lines: list[str]) -> None:
    """Log the damaged lines a run found (its files count as not archived: fetched again)."""
    if lines:
        logger.warning(
            "%s: %s; the files of such lines count as not archived (fetched again)",
            location,
            "; ".join(lines),
        )


def _ends_with_newline(path: Path, size: int) -> bool:
    with open(path, "rb") as fh:
        fh.seek(size - 1)
        return fh.read(1) == b"\n"
