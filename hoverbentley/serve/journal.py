"""The service's journal: every accepted event, durable before it is acknowledged.

One msgspec-JSON line per record in ``journal.jsonl``, appended with one ``write`` and an
``fsync`` before :meth:`Journal.accept` returns. Three kinds of records:

- an :class:`Event` (message id, provider, job id, received time, event type, and whether it
  asks for an archive: an event of a job not complete yet is only noted);
- a :class:`Finished` record: the job was archived (or, with an ``error``, failed for good)
  after the events it names, so a restart replays only the events no :class:`Finished`
  record covers;
- a :class:`Retry` record: an attempt of a pending job failed, and when the next is due, so
  a restart goes on counting its attempts and waits out its pause. A new event of the job
  gives it its attempts afresh.

A torn last line (a crash mid-write) is ignored and cut off when the journal is opened; a
whole line that does not decode is left out with a warning, the file as it was kept beside it
as ``journal.jsonl.unreadable``, and every line after it is read. The
file is compacted when it is opened, and while the service runs whenever its lines have grown
to twice what the last compaction kept (:data:`COMPACT_MIN` at least): the events still
pending stay, and finished ones are kept for the dedup window only (:data:`DEDUP_WINDOW`), so
a provider's retry of a delivery is still recognised. A long run's journal, and what it holds
in memory, stay bounded by the events of one window. Compaction writes a new file, fsyncs
it, renames it over the journal and fsyncs the directory: a crash leaves the old or the new.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import anyio
import msgspec

from .._io.atomic import atomic_writer, fsync_directory
from ..errors import HoverBentleyError

logger = logging.getLogger("hoverbentley.serve")

JOURNAL_NAME = "journal.jsonl"
#: How long a finished event's message id is kept for recognising a repeated delivery.
DEDUP_WINDOW = 24 * 3600.0
#: The fewest lines at which a running journal is compacted.
COMPACT_MIN = 1024


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
    """Job ``job_id`` was archived after events ``message_ids``; or, with an ``error`` (its
    last attempt's), failed for good after them."""

    provider: str
    job_id: str
    message_ids: list[str]
    at: float
    error: str | None = None
    #: Read only: earlier versions wrote ``"ok": false`` for a failed job, and no error.
    ok: bool = True

    @property
    def failure(self) -> str | None:
        """The error of a failed job (``None``: archived)."""
        if self.error is None and not self.ok:
            return "failed (recorded without its error by an earlier version)"
        return self.error


class Retry(msgspec.Struct, tag="retry", kw_only=True):
    """Attempt ``failures`` of job ``job_id`` failed with ``error``; the next is due at
    ``due`` (the journal's clock)."""

    provider: str
    job_id: str
    failures: int
    due: float
    error: str

    @property
    def key(self) -> JobKey:
        return JobKey(self.provider, self.job_id)


Record = Event | Finished | Retry
_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(Record)


@dataclass
class _State:
    """What the journal's lines say: the events seen, those of each job still pending, when
    each was finished, the error of those finished as failed, and the failed attempts of
    pending jobs since their last event."""

    seen: dict[str, Event] = field(default_factory=dict)
    pending: dict[JobKey, dict[str, Event]] = field(default_factory=dict)
    finished_at: dict[str, float] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    retries: dict[JobKey, Retry] = field(default_factory=dict)


def _apply(state: _State, record: Record) -> None:
    """Bring ``state`` up to date with one record of the journal."""
    if isinstance(record, Retry):
        if record.key in state.pending:
            state.retries[record.key] = record
        return
    if isinstance(record, Event):
        state.seen.setdefault(record.message_id, record)
        if record.archive:
            state.pending.setdefault(record.key, {})[record.message_id] = record
            state.retries.pop(record.key, None)  # a new event: attempts afresh
        else:
            state.finished_at[record.message_id] = record.received
        return
    key = JobKey(record.provider, record.job_id)
    events = state.pending.get(key, {})
    failure = record.failure
    for message_id in record.message_ids:
        events.pop(message_id, None)
        state.finished_at[message_id] = record.at
        if failure is None:
            state.failed.pop(message_id, None)
        else:
            state.failed[message_id] = failure
    if not events:
        state.pending.pop(key, None)
        state.retries.pop(key, None)


def _replay(records: Iterable[Record]) -> _State:
    state = _State()
    for record in records:
        _apply(state, record)
    return state


def _compacted(state: _State, keep_after: float) -> list[Record]:
    """The records of a journal saying what ``state`` does, less the events finished before
    ``keep_after``."""
    finished_at = state.finished_at
    kept = [
        e
        for e in state.seen.values()
        if e.message_id not in finished_at or finished_at[e.message_id] > keep_after
    ]
    finished = [
        Finished(
            provider=e.provider,
            job_id=e.job_id,
            message_ids=[e.message_id],
            at=finished_at[e.message_id],
            error=state.failed.get(e.message_id),
        )
        for e in kept
        if e.message_id in finished_at and e.archive
    ]
    return [*kept, *finished, *state.retries.values()]


class _Read(NamedTuple):
    """What one read of a journal file found."""

    state: _State
    #: Whole lines that decoded.
    records: int
    #: Whole lines that did not decode.
    skipped: int
    #: Whether the file is exactly its records' lines (no torn tail, blank or skipped line).
    clean: bool


def _read(path: Path) -> _Read:
    """The state the journal at ``path`` holds, from one read, each line decoded once.

    A last line without its newline (torn by a crash) is left out. A whole line that does
    not decode (a damaged disk block, a record of another version) is skipped, not the end
    of what follows: every acknowledged event after it is kept.
    """
    state = _State()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return _Read(state, 0, 0, True)
    *whole, torn = data.split(b"\n")
    records = skipped = 0
    blank = False
    for line in whole:
        if not line.strip():
            blank = True
            continue
        try:
            record = _DECODER.decode(line)
        except msgspec.MsgspecError:
            skipped += 1
            continue
        _apply(state, record)
        records += 1
    return _Read(state, records, skipped, not (torn or blank or skipped))


class Journal:
    """The append-only journal in directory ``directory`` (created if needed).

    Call :meth:`open` (blocking: from a thread in async code) before anything else. Appends
    are serialised; each is made durable (``fsync``) before it returns, and a failed write is
    cut off again so the file never holds half a line. ``clock`` gives the time of records
    and of the dedup window (``time.time``).
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        dedup_window: float = DEDUP_WINDOW,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.directory = Path(directory)
        self.path = self.directory / JOURNAL_NAME
        self.dedup_window = dedup_window
        #: The time of records and of the dedup window.
        self.clock = clock
        self._fd: int | None = None
        self._state = _State()
        self._lines = 0
        self._compact_at = COMPACT_MIN
        self._lock = threading.Lock()
        self._failed = False

    # -- opening ---------------------------------------------------------------------------

    def open(self) -> None:
        """Read the journal, cut a torn tail, compact it, and open it for appending."""
        self.directory.mkdir(parents=True, exist_ok=True)
        read = _read(self.path)
        if read.skipped:
            damaged = self.path.with_name(self.path.name + ".unreadable")
            shutil.copyfile(self.path, damaged)
            logger.warning(
                "journal: %d lines of %s could not be read and are left out; the file as it"
                " was is kept in %s",
                read.skipped,
                self.path,
                damaged,
            )
        self._state = read.state
        # A torn tail, a blank or an unreadable line: the file is rewritten with what is kept.
        self._lines = read.records if read.clean else -1
        self._compact()

    def _compact(self) -> None:
        """Rewrite the journal with what :func:`_compacted` keeps of it, and (re)open it."""
        kept = _compacted(self._state, self.clock() - self.dedup_window)
        if len(kept) != self._lines:
            with atomic_writer(self.path, mode=0o600) as fh:
                fh.write(b"".join(_ENCODER.encode(r) + b"\n" for r in kept))
            self._state = _replay(kept)
            self._close_file()
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            fsync_directory(self.directory)
        self._lines = len(kept)
        self._compact_at = max(COMPACT_MIN, 2 * len(kept))

    def close(self) -> None:
        """Close the file (every record is already durable), once an append or a compaction
        under way has ended."""
        with self._lock:
            self._close_file()

    def _close_file(self) -> None:
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

    def retry(self, key: JobKey) -> Retry | None:
        """The last failed attempt of pending job ``key`` since its last event, if any."""
        return self._state.retries.get(key)

    def failed_jobs(self) -> dict[JobKey, str]:
        """The jobs recorded as failed for good (in the dedup window) and not archived since,
        with the error of each."""
        failed: dict[JobKey, str] = {}
        state = self._state
        for event in state.seen.values():  # oldest first: a job's last finish wins
            if not event.archive or event.message_id not in state.finished_at:
                continue
            error = state.failed.get(event.message_id)
            if error is None:
                failed.pop(event.key, None)
            else:
                failed[event.key] = error
        return failed

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

    async def finish(
        self, key: JobKey, message_ids: list[str], *, error: str | None = None
    ) -> None:
        """Record that job ``key`` was archived after events ``message_ids``, or with an
        ``error`` that it failed for good."""
        record = Finished(
            provider=key.provider,
            job_id=key.job_id,
            message_ids=message_ids,
            at=self.clock(),
            error=error,
        )
        await anyio.to_thread.run_sync(self._finish, record)

    async def retrying(
        self, key: JobKey, failures: int, error: str, delay: float, covered: Iterable[str]
    ) -> bool:
        """Record that attempt ``failures`` of pending job ``key``, made for its events
        ``covered``, failed with ``error``, and that the next is due in ``delay`` seconds;
        ``False`` (nothing written) if another event of the job is pending since, which gives
        it its attempts afresh."""
        record = Retry(
            provider=key.provider,
            job_id=key.job_id,
            failures=failures,
            due=self.clock() + delay,
            error=error,
        )
        return await anyio.to_thread.run_sync(self._retrying, record, frozenset(covered))

    def _retrying(self, record: Retry, covered: frozenset[str]) -> bool:
        # Checked under the lock: an event accepted after the check is replayed after it.
        with self._lock:
            if not set(self._state.pending.get(record.key, ())) <= covered:
                return False
            self._write_record(record)
            return True

    def _accept(self, event: Event) -> bool:
        with self._lock:
            state = self._state
            if event.message_id in state.seen:
                return False
            self._append(_ENCODER.encode(event) + b"\n")
            _apply(state, event)
            self._compact_if_grown()
            return True

    def _finish(self, record: Finished) -> None:
        with self._lock:
            self._write_record(record)

    def _write_record(self, record: Finished | Retry) -> None:
        """Append ``record`` (of a job, not an event) and apply it; the lock held."""
        self._append(_ENCODER.encode(record) + b"\n")
        _apply(self._state, record)
        self._compact_if_grown()

    def _compact_if_grown(self) -> None:
        if self._lines < self._compact_at:
            return
        try:
            self._compact()
        except OSError as exc:  # the journal as it is stays whole and in use
            self._compact_at = self._lines + COMPACT_MIN
            reason = exc.strerror or type(exc).__name__
            logger.warning("journal %s not compacted: %s", self.path, reason)

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
        self._lines += 1

    def _write(self, fd: int, line: bytes) -> None:
        """Write ``line`` whole at the end of the file and make it durable (an ``OSError``
        when either fails)."""
        view = memoryview(line)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
