"""The service's journal: every accepted event, durable before it is acknowledged.

One msgspec-JSON line per record in ``journal.jsonl``, appended with one ``write`` and an
``fsync`` before :meth:`Journal.accept` returns. Two kinds of records:

- an :class:`Event` (message id, provider, job id, received time, event type, and whether it
  asks for an archive: an event of a job not complete yet is only noted);
- a :class:`Finished` record: the job was archived (or failed for good) after the events it
  names, so a restart replays only the events no :class:`Finished` record covers.

A torn last line (a crash mid-write) is ignored and cut off when the journal is opened. At
opening the file is also compacted: the events still pending stay, and finished ones are kept
for :data:`DEDUP_WINDOW` only, so a provider's retry of a delivery is still recognised.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import anyio
import msgspec

from .._io.atomic import atomic_writer, fsync_directory
from ..errors import HoverBentleyError

JOURNAL_NAME = "journal.jsonl"
#: How long a finished event's message id is kept for recognising a repeated delivery.
DEDUP_WINDOW = 24 * 3600.0


class JournalUnavailable(HoverBentleyError):
    """The journal could not be written (disk full, an I/O error): nothing was acknowledged."""


class JobKey(NamedTuple):
    """A job of a provider (``("hover", "123")``): the unit the queue and the journal track."""

    provider: str
    job_id: str


class Event(msgspec.Struct, tag="event", kw_only=True, omit_defaults=True):
    """An accepted event. ``archive`` is false for an event that only notes a job (not
    complete yet): it is kept to recognise its repeats, and asks for nothing."""

    message_id: str
    provider: str
    job_id: str
    received: float
    event_type: str
    archive: bool = True

    @property
    def key(self) -> JobKey:
        return JobKey(self.provider, self.job_id)


class Finished(msgspec.Struct, tag="finished", kw_only=True, omit_defaults=True):
    """Job ``job_id`` was archived after events ``message_ids`` (``ok`` false: it failed,
    and is left to the next catch-up sweep)."""

    provider: str
    job_id: str
    message_ids: list[str]
    at: float
    ok: bool = True


Record = Event | Finished
_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(Record)


@dataclass
class _State:
    """What the journal's lines say: the events seen, and those of each job still pending."""

    seen: dict[str, Event]
    pending: dict[JobKey, dict[str, Event]]
    finished_at: dict[str, float]


def _replay(lines: Iterable[bytes]) -> _State:
    state = _State({}, {}, {})
    for line in lines:
        record = _DECODER.decode(line)
        if isinstance(record, Event):
            state.seen.setdefault(record.message_id, record)
            if record.archive:
                state.pending.setdefault(record.key, {})[record.message_id] = record
            else:
                state.finished_at[record.message_id] = record.received
            continue
        events = state.pending.get(JobKey(record.provider, record.job_id), {})
        for message_id in record.message_ids:
            events.pop(message_id, None)
            state.finished_at[message_id] = record.at
        if not events:
            state.pending.pop(JobKey(record.provider, record.job_id), None)
    return state


def _read_lines(path: Path) -> list[bytes]:
    """The whole, readable lines of ``path``.

    A last line without its newline, or any line that does not decode (torn by a crash),
    ends the readable part; what follows is dropped when the journal is opened.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    lines: list[bytes] = []
    good = 0
    while good < len(data):
        end = data.find(b"\n", good)
        if end < 0:
            break
        line = data[good:end]
        if line.strip():
            try:
                _DECODER.decode(line)
            except msgspec.MsgspecError:
                break
            lines.append(line)
        good = end + 1
    return lines


class Journal:
    """The append-only journal in directory ``directory`` (created if needed).

    Call :meth:`open` (blocking: from a thread in async code) before anything else. Appends
    are serialised; each is made durable (``fsync``) before it returns, and a failed write is
    cut off again so the file never holds half a line.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.path = self.directory / JOURNAL_NAME
        self._fd: int | None = None
        self._state = _State({}, {}, {})
        self._lock = threading.Lock()
        self._failed = False

    # -- opening ---------------------------------------------------------------------------

    def open(self, *, now: float | None = None) -> None:
        """Read the journal, cut a torn tail, compact it, and open it for appending."""
        self.directory.mkdir(parents=True, exist_ok=True)
        lines = _read_lines(self.path)
        state = _replay(lines)
        self._state = state
        keep_after = (time.time() if now is None else now) - DEDUP_WINDOW
        kept = [
            e
            for e in state.seen.values()
            if e.message_id not in state.finished_at or state.finished_at[e.message_id] > keep_after
        ]
        finished = [e for e in kept if e.message_id in state.finished_at and e.archive]
        compacted = b"".join(_ENCODER.encode(e) + b"\n" for e in kept) + b"".join(
            _ENCODER.encode(
                Finished(
                    provider=e.provider,
                    job_id=e.job_id,
                    message_ids=[e.message_id],
                    at=state.finished_at[e.message_id],
                )
            )
            + b"\n"
            for e in finished
        )
        if self.path.exists() and compacted != self.path.read_bytes():
            with atomic_writer(self.path) as fh:
                fh.write(compacted)
            self._state = _replay(compacted.splitlines())
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        fsync_directory(self.directory)

    def close(self) -> None:
        """Close the file (every record is already durable)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    # -- what it holds ---------------------------------------------------------------------

    def seen(self, message_id: str) -> bool:
        """Whether an event of ``message_id`` was accepted (and not compacted away)."""
        return message_id in self._state.seen

    def pending_jobs(self) -> list[JobKey]:
        """The jobs with events no finished record covers, oldest first."""
        pending = self._state.pending
        return sorted(pending, key=lambda k: min(e.received for e in pending[k].values()))

    def pending_events(self, key: JobKey) -> list[Event]:
        """The pending events of job ``key``, oldest first."""
        return sorted(self._state.pending.get(key, {}).values(), key=lambda e: e.received)

    def writable(self) -> bool:
        """Whether the journal is open and its last write (if any) succeeded, or its
        directory has room again since that failure."""
        if self._fd is None:
            return False
        if not self._failed:
            return True
        try:
            return os.statvfs(self.directory).f_bavail > 0
        except OSError:
            return False

    # -- appending -------------------------------------------------------------------------

    async def accept(self, event: Event) -> bool:
        """Append ``event`` durably; ``False`` (nothing written) when its message id is
        already in the journal. Raises :class:`JournalUnavailable` when it cannot be written."""
        return await anyio.to_thread.run_sync(self._accept, event)

    async def finish(self, key: JobKey, message_ids: list[str], *, ok: bool = True) -> None:
        """Record that job ``key`` was archived after events ``message_ids``."""
        record = Finished(
            provider=key.provider, job_id=key.job_id, message_ids=message_ids, at=time.time(), ok=ok
        )
        await anyio.to_thread.run_sync(self._finish, key, record)

    def _accept(self, event: Event) -> bool:
        with self._lock:
            state = self._state
            if event.message_id in state.seen:
                return False
            self._append(_ENCODER.encode(event) + b"\n")
            state.seen[event.message_id] = event
            if event.archive:
                state.pending.setdefault(event.key, {})[event.message_id] = event
            else:
                state.finished_at[event.message_id] = event.received
            return True

    def _finish(self, key: JobKey, record: Finished) -> None:
        with self._lock:
            self._append(_ENCODER.encode(record) + b"\n")
            events = self._state.pending.get(key, {})
            for message_id in record.message_ids:
                events.pop(message_id, None)
                self._state.finished_at[message_id] = record.at
            if not events:
                self._state.pending.pop(key, None)

    def _append(self, line: bytes) -> None:
        fd = self._fd
        if fd is None:
            raise JournalUnavailable(f"the journal {self.path} is not open")
        size = os.fstat(fd).st_size
        try:
            self._write(fd, line)
        except OSError as exc:
            self._failed = True
            with contextlib.suppress(OSError):
                os.ftruncate(fd, size)  # no half line stays behind
            cause = exc.strerror or type(exc).__name__
            raise JournalUnavailable(f"cannot write the journal {self.path}: {cause}") from None
        self._failed = False

    def _write(self, fd: int, line: bytes) -> None:
        """Write ``line`` whole at the end of the file and make it durable (an ``OSError``
        when either fails)."""
        view = memoryview(line)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
