"""The journal (durable, deduplicating, replayed, repaired) and the bounded job queue."""

from __future__ import annotations

import errno
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from hoverbentley.serve import journal as journal_module
from hoverbentley.serve.journal import (
    COMPACT_MIN,
    DEDUP_WINDOW,
    JOURNAL_NAME,
    Event,
    JobKey,
    Journal,
    JournalUnavailable,
)
from hoverbentley.serve.queue import JobQueue

pytestmark = pytest.mark.anyio


def event(message_id: str, job_id: str = "1", *, archive: bool = True, at: float = 0.0) -> Event:
    return Event(
        message_id=message_id,
        provider="hover",
        job_id=job_id,
        received=at or time.time(),
        event_type="job-state-changed",
        archive=archive,
    )


def opened(directory: Path) -> Journal:
    journal = Journal(directory)
    journal.open()
    return journal


async def test_a_restart_replays_only_what_is_not_finished(tmp_path: Path) -> None:
    journal = opened(tmp_path)
    assert await journal.accept(event("a", "1"))
    assert await journal.accept(event("b", "2"))
    assert await journal.accept(event("c", "1"))
    assert await journal.accept(event("n", "3", archive=False))  # noted only: not complete
    await journal.finish(JobKey("hover", "1"), ["a"])
    journal.close()

    again = opened(tmp_path)
    # Oldest pending event first: job 1 waits for "c", which came after "b".
    assert again.pending_jobs() == [JobKey("hover", "2"), JobKey("hover", "1")]
    assert [e.message_id for e in again.pending_events(JobKey("hover", "1"))] == ["c"]
    # Every id is still known, finished or not, so a repeat is recognised after a restart.
    for message_id in "abcn":
        assert again.seen(message_id)
        assert not await again.accept(event(message_id, "9"))
    assert JobKey("hover", "9") not in again.pending_jobs()


async def test_a_duplicate_is_not_written_twice(tmp_path: Path) -> None:
    journal = opened(tmp_path)
    assert await journal.accept(event("a"))
    assert not await journal.accept(event("a"))
    lines = (tmp_path / JOURNAL_NAME).read_bytes().splitlines()
    assert len(lines) == 1


async def test_a_torn_last_line_is_ignored_and_cut_off(tmp_path: Path) -> None:
    journal = opened(tmp_path)
    await journal.accept(event("a", "1"))
    journal.close()
    path = tmp_path / JOURNAL_NAME
    whole = path.read_bytes()
    with open(path, "ab") as fh:
        fh.write(b'{"type":"event","message_id":"b","prov')  # a crash mid-write

    again = opened(tmp_path)
    assert again.pending_jobs() == [JobKey("hover", "1")]
    assert not again.seen("b")
    assert path.read_bytes() == whole
    assert await again.accept(event("b", "2"))  # appended after the repaired end
    again.close()
    assert opened(tmp_path).pending_jobs() == [JobKey("hover", "1"), JobKey("hover", "2")]


async def test_an_unreadable_line_in_the_middle_loses_none_of_the_events_after_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    journal = opened(tmp_path)
    for message_id, job_id in ("a", "1"), ("b", "2"), ("c", "3"):
        await journal.accept(event(message_id, job_id))
    journal.close()
    path = tmp_path / JOURNAL_NAME
    first, *rest = path.read_bytes().splitlines(keepends=True)
    # A whole line that does not decode, after the first event: a record of a later version.
    damaged = first + b'{"type":"record-of-a-later-version","x":1}\n' + b"".join(rest)
    path.write_bytes(damaged)

    again = opened(tmp_path)
    assert again.pending_jobs() == [JobKey("hover", k) for k in "123"]
    assert all(again.seen(m) for m in "abc")
    assert (tmp_path / (JOURNAL_NAME + ".unreadable")).read_bytes() == damaged
    assert "1 lines" in caplog.text and ".unreadable" in caplog.text
    assert b"later-version" not in path.read_bytes()  # compacted without it


async def test_opening_compacts_finished_events_past_the_window(tmp_path: Path) -> None:
    journal = opened(tmp_path)
    await journal.accept(event("done", "1"))
    await journal.accept(event("noted", "2", archive=False))
    await journal.accept(event("pending", "3"))
    await journal.finish(JobKey("hover", "1"), ["done"])
    journal.close()
    path = tmp_path / JOURNAL_NAME
    assert len(path.read_bytes().splitlines()) == 4

    # Opened again a day later: what was finished is forgotten, what is pending stays.
    later = Journal(tmp_path, clock=lambda: time.time() + DEDUP_WINDOW + 60)
    later.open()
    assert len(path.read_bytes().splitlines()) == 1
    assert later.pending_jobs() == [JobKey("hover", "3")]
    assert not later.seen("done") and not later.seen("noted") and later.seen("pending")


async def test_a_pending_jobs_failed_attempts_survive_a_restart_and_compaction(
    tmp_path: Path,
) -> None:
    one, two, three = (JobKey("hover", j) for j in "123")
    journal = Journal(tmp_path, clock=lambda: 1000.0)
    journal.open()
    for message_id, job in (("a", "1"), ("b", "2"), ("c", "3")):
        assert await journal.accept(event(message_id, job, at=1.0))
    await journal.retrying(one, 1, "HTTP 503", 30.0, ["a"])
    assert await journal.retrying(one, 2, "HTTP 503", 60.0, ["a"])  # the last one counts
    await journal.retrying(two, 1, "reset", 30.0, ["b"])
    await journal.accept(event("d", "2", at=2.0))  # a new event: attempts afresh
    # An attempt made for "b" alone, failed after "d" came: not counted against "d".
    assert not await journal.retrying(two, 2, "reset", 60.0, ["b"])
    await journal.retrying(three, 1, "reset", 30.0, ["c"])
    await journal.finish(three, ["c"])  # archived: nothing left to try
    await journal.retrying(JobKey("hover", "9"), 1, "reset", 30.0, [])  # not pending: ignored
    journal.close()
    lines = (tmp_path / JOURNAL_NAME).read_bytes().splitlines()

    again = Journal(tmp_path, clock=lambda: 2000.0)
    again.open()  # compacted: fewer lines, the same retries
    assert len((tmp_path / JOURNAL_NAME).read_bytes().splitlines()) < len(lines)
    retry = again.retry(one)
    assert retry is not None
    assert (retry.failures, retry.due, retry.error) == (2, 1060.0, "HTTP 503")
    assert again.retry(two) is None and again.retry(three) is None
    again.close()
    third = opened(tmp_path)  # and read back from the compacted file
    assert third.retry(one) == retry
    third.close()


class Unsynced(Journal):
    """A journal whose appends skip the fsync: what is tested is what it keeps, and 8,000
    fsyncs would make the test's length the disk's."""

    def _write(self, fd: int, line: bytes) -> None:
        os.write(fd, line)


async def test_a_long_run_compacts_the_journal_as_finished_records_pile_up(
    tmp_path: Path,
) -> None:
    """4,000 events over 20 windows, each job archived: the file and what the journal
    remembers stay within what one window holds; pending events and recent ids survive."""
    now = [1_000_000.0]
    window = 200.0
    journal = Unsynced(tmp_path, dedup_window=window, clock=lambda: now[0])
    journal.open()
    path = tmp_path / JOURNAL_NAME
    assert await journal.accept(event("kept", "pending", at=now[0]))
    largest = 0
    for n in range(4000):
        now[0] += 1.0  # 200 events per window
        assert await journal.accept(event(f"m{n}", str(n), at=now[0]))
        await journal.finish(JobKey("hover", str(n)), [f"m{n}"])
        largest = max(largest, len(path.read_bytes().splitlines()))
    # Each event of the window is two lines (the event and its finished record): at most
    # twice the lines one compaction keeps (or the fewest a compaction waits for), never
    # the 8,001 written.
    assert largest <= max(COMPACT_MIN, 2 * (2 * 200 + 1)) + 1, largest
    assert journal.pending_jobs() == [JobKey("hover", "pending")]
    assert journal.seen("m3999") and journal.seen("kept") and not journal.seen("m100")
    assert not await journal.accept(event("m3990", "x"))  # a recent retry is recognised
    journal.close()
    again = Journal(tmp_path, dedup_window=window, clock=lambda: now[0])
    again.open()
    assert again.pending_jobs() == [JobKey("hover", "pending")]
    assert again.seen("m3999") and not again.seen("m100")


class FullDisk(Journal):
    """A journal whose device is full from the ``fail_from``-th write on."""

    def __init__(self, directory: Path, fail_from: int) -> None:
        super().__init__(directory)
        self.writes = 0
        self.fail_from = fail_from

    def _write(self, fd: int, line: bytes) -> None:
        self.writes += 1
        if self.writes >= self.fail_from:
            os.write(fd, line[: len(line) // 2])  # part of the line reaches the file
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        super()._write(fd, line)


async def test_a_full_disk_acknowledges_nothing_and_leaves_no_half_line(tmp_path: Path) -> None:
    journal = FullDisk(tmp_path, fail_from=2)
    journal.open()
    await journal.accept(event("a", "1"))
    with pytest.raises(JournalUnavailable, match="No space left on device"):
        await journal.accept(event("b", "2"))
    assert not journal.seen("b")
    journal.close()
    assert (tmp_path / JOURNAL_NAME).read_bytes().count(b"\n") == 1
    assert (tmp_path / JOURNAL_NAME).read_bytes().endswith(b"\n")
    assert opened(tmp_path).pending_jobs() == [JobKey("hover", "1")]


async def test_the_queue_keeps_its_bound_and_runs_a_job_once_more_at_most() -> None:
    depths: list[int] = []
    queue: JobQueue[str] = JobQueue(2, on_depth=depths.append)
    queue.put("a")
    queue.put("a")  # already waiting: no room taken
    queue.put("b")
    assert queue.depth == 2
    assert not queue.admits("c")
    assert queue.admits("a")
    with pytest.raises(OverflowError):
        queue.put("c")

    assert await queue.take(1) == ["a"]
    queue.put("a")  # an event while "a" runs: it runs once more, however many come
    queue.put("a")
    queue.put("a")
    assert queue.depth == 2 and not queue.admits("c")
    assert await queue.take(10) == ["b"]  # not "a": it is being archived
    queue.done("a")
    assert await queue.take(10) == ["a"]
    queue.done("a")
    queue.done("b")
    assert queue.depth == 0
    assert max(depths) == 2


async def test_take_waits_for_a_job() -> None:
    queue: JobQueue[str] = JobQueue(5)
    got: list[list[str]] = []

    async def taker() -> None:
        got.append(await queue.take(5))

    async with anyio.create_task_group() as group:
        group.start_soon(taker)
        await anyio.wait_all_tasks_blocked()
        assert got == []
        queue.put("x")
    assert got == [["x"]]


async def test_stop_ends_the_pause_after_a_failed_run_and_the_job_stays_pending(
    tmp_path: Path,
) -> None:
    from hoverbentley.archive import ArchiveSource
    from hoverbentley.serve.archiver import Archiver, ArchiverSettings
    from hoverbentley.serve.metrics import ServeMetrics

    journal = opened(tmp_path)
    assert await journal.accept(event("a", "7"))
    jobs: JobQueue[JobKey] = JobQueue(10)
    jobs.put(JobKey("hover", "7"))
    failing = anyio.Event()

    def source(ids: list[str]) -> ArchiveSource:
        failing.set()
        raise OSError("the API is down")

    settings = ArchiverSettings(sweep_interval=None, retry_delay=3600.0)
    archiver = Archiver(
        tmp_path / "out", journal, jobs, ServeMetrics(), {"hover": source}, settings
    )
    with anyio.fail_after(60):  # a pause that stop() did not end would run into this
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(archiver.run)
            await failing.wait()
            await anyio.wait_all_tasks_blocked()
            archiver.stop()
    assert journal.pending_jobs() == [JobKey("hover", "7")]  # replayed at the next start
    journal.close()


class HeldWrite(Journal):
    """A journal whose appends stop mid-write until :attr:`release` is set."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.writing = threading.Event()
        self.release = threading.Event()

    def _write(self, fd: int, line: bytes) -> None:
        self.writing.set()
        assert self.release.wait(60)
        super()._write(fd, line)


class WatchedLock:
    """A lock that says when a caller has to wait for it."""

    def __init__(self, lock: threading.Lock) -> None:
        self.lock = lock
        self.contended = threading.Event()

    def __enter__(self) -> None:
        if not self.lock.acquire(blocking=False):
            self.contended.set()
            self.lock.acquire()

    def __exit__(self, *exc: object) -> None:
        self.lock.release()


async def test_close_waits_for_an_append_under_way_and_the_event_is_kept(
    tmp_path: Path,
) -> None:
    journal = HeldWrite(tmp_path)
    journal.open()
    lock = WatchedLock(journal._lock)
    journal._lock = lock  # type: ignore[assignment]
    closed = threading.Event()

    def close() -> None:
        journal.close()
        closed.set()

    with anyio.fail_after(60):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(journal.accept, event("a", "1"))
            await anyio.to_thread.run_sync(journal.writing.wait)
            tasks.start_soon(anyio.to_thread.run_sync, close)
            while not (lock.contended.is_set() or closed.is_set()):
                await anyio.sleep(0.01)
            journal.release.set()  # the append ends; then the file is closed
    assert closed.is_set() and not journal.writable()
    assert opened(tmp_path).pending_jobs() == [JobKey("hover", "1")]


class CountingDecoder:
    """The journal's decoder, counting the lines it decodes."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.lines = 0

    def decode(self, line: bytes) -> Any:
        self.lines += 1
        return self.inner.decode(line)


#: The paths opened for reading while a list is set here (see :func:`_note_reads`).
_reads: list[str] | None = None


def _note_reads(event_name: str, args: tuple[Any, ...]) -> None:
    if event_name != "open" or _reads is None or not isinstance(args[0], (str, os.PathLike)):
        return
    path, mode, flags = args
    reading = "r" in mode and "+" not in mode if mode else flags & os.O_ACCMODE == os.O_RDONLY
    if reading:
        _reads.append(os.fspath(path))


sys.addaudithook(_note_reads)


async def test_opening_reads_the_file_once_and_decodes_each_line_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    global _reads
    journal = opened(tmp_path)
    for n in range(5):
        await journal.accept(event(f"m{n}", str(n)))
    await journal.finish(JobKey("hover", "0"), ["m0"])
    journal.close()
    decoder = CountingDecoder(journal_module._DECODER)
    monkeypatch.setattr(journal_module, "_DECODER", decoder)

    _reads = []
    try:
        again = opened(tmp_path)
    finally:
        reads, _reads = _reads, None
    assert reads.count(str(tmp_path / JOURNAL_NAME)) == 1
    assert decoder.lines == 6
    assert again.pending_jobs() == [JobKey("hover", str(n)) for n in range(1, 5)]
    assert again.seen("m0")
    again.close()


async def test_a_job_recorded_failed_stays_so_across_a_compaction_until_archived(
    tmp_path: Path,
) -> None:
    journal = opened(tmp_path)
    await journal.accept(event("a", "1"))
    await journal.accept(event("b", "2"))
    await journal.finish(JobKey("hover", "1"), ["a"], error="HTTP 500")
    await journal.finish(JobKey("hover", "2"), ["b"])
    journal.close()
    with open(tmp_path / JOURNAL_NAME, "ab") as fh:
        fh.write(b'{"type":"ev')  # a torn tail: the next open rewrites (compacts) the file

    again = opened(tmp_path)
    assert (tmp_path / JOURNAL_NAME).read_bytes().endswith(b"}\n")  # rewritten
    assert again.failed_jobs() == {JobKey("hover", "1"): "HTTP 500"}
    await again.accept(event("c", "1"))  # a later event, and its job archived this time
    await again.finish(JobKey("hover", "1"), ["c"])
    assert again.failed_jobs() == {}
    again.close()


def test_a_journal_of_the_earlier_format_keeps_its_failed_job_failed(tmp_path: Path) -> None:
    # Lines as the previous version wrote them: a failed job's record had "ok": false and no
    # error; an archived one neither.
    now = time.time()
    lines = [
        f'{{"type":"event","message_id":"m1","provider":"hover","job_id":"1","received":{now},'
        '"event_type":"job-state-changed"}',
        f'{{"type":"event","message_id":"m2","provider":"hover","job_id":"2","received":{now},'
        '"event_type":"job-state-changed"}',
        '{"type":"finished","provider":"hover","job_id":"1","message_ids":["m1"],'
        f'"at":{now + 1},"ok":false}}',
        '{"type":"finished","provider":"hover","job_id":"2","message_ids":["m2"],'
        f'"at":{now + 1}}}',
    ]
    (tmp_path / JOURNAL_NAME).write_text("\n".join(lines) + "\n")
    journal = Journal(tmp_path)
    journal.open()
    assert journal.pending_jobs() == []
    assert list(journal.failed_jobs()) == [JobKey("hover", "1")]
    assert "earlier version" in journal.failed_jobs()[JobKey("hover", "1")]
    journal.close()
