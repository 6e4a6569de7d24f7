"""The archiver: the catch-up sweep under steady events, the takeoff table of a sweep, and
the route of a journaled job."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import msgspec
import pytest

from hoverbentley.archive import ArchiveOptions, ArchiveSource, ArchiveSummary, archive
from hoverbentley.archive.hover_source import HoverSource
from hoverbentley.archive.summary import JobFailure
from hoverbentley.archive.takeoff import read_takeoff, takeoff_csv
from hoverbentley.bentley.webhook_events import decode_bentley_event
from hoverbentley.emulator import Emulator, EmulatorConfig
from hoverbentley.serve.app import SERVICE, create_app
from hoverbentley.serve.archiver import (
    Archiver,
    ArchiverSettings,
    SweepIncomplete,
    sweep_of_all,
)
from hoverbentley.serve.events import BENTLEY_ROUTES, bentley_intent, route_of
from hoverbentley.serve.journal import Event, JobKey, Journal
from hoverbentley.serve.metrics import ServeMetrics
from hoverbentley.serve.queue import JobQueue
from tests.archive.helpers import FAST_HTTP, SMALL_SIZES
from tests.serve.helpers import metric, settings
from tests.support import hover_client, serve

pytestmark = pytest.mark.anyio

EMULATOR = EmulatorConfig(jobs=3, include_seed_jobs=False, sizes=SMALL_SIZES)


class NoFiles:
    """A Hover source that lists no job, once ``listing`` has returned."""

    provider = "hover"

    def __init__(self, listing: Callable[[], Awaitable[None]]) -> None:
        self.listing = listing

    async def job_ids(self) -> AsyncIterator[str]:
        await self.listing()
        none: tuple[str, ...] = ()
        for job_id in none:
            yield job_id

    def hosts(self) -> list[object]:
        return []


class Events:
    """A journal and a queue fed one event of a new job at a time, as the app feeds them."""

    def __init__(self, directory: Path) -> None:
        self.journal = Journal(directory)
        self.journal.open()
        self.queue: JobQueue[JobKey] = JobQueue(1000)
        self.ids = itertools.count(1)

    def archiver(
        self,
        out: Path,
        sources: dict[str, Callable[[list[str]], ArchiveSource]],
        settings: ArchiverSettings | None = None,
        **options: Any,
    ) -> Archiver:
        """An archiver of this journal and queue (``options``: sweep, clock, metrics)."""
        metrics = options.pop("metrics", None) or ServeMetrics()
        return Archiver(out, self.journal, self.queue, metrics, sources, settings, **options)

    async def arrive(self) -> None:
        job_id = str(next(self.ids))
        event = Event(
            message_id=f"m{job_id}",
            provider="hover",
            job_id=job_id,
            received=time.time(),
            event_type="job-state-changed",
        )
        assert await self.journal.accept(event)
        self.queue.put(event.key)


async def test_a_due_sweep_runs_before_the_next_batch_under_steady_events(
    tmp_path: Path,
) -> None:
    """An event arrives during every run, so jobs always wait; each run takes a minute of
    the archiver's clock and the sweep is due every 100 s: it runs, one batch late at most."""
    events = Events(tmp_path / "state")
    now = [0.0]
    order: list[str] = []
    archiver: Archiver

    async def during_the_run() -> None:
        if order.count("batch") < 20:
            await events.arrive()
        else:
            archiver.stop()

    def source(ids: list[str]) -> ArchiveSource:
        order.append("batch")
        now[0] += 60.0
        return NoFiles(during_the_run)  # type: ignore[return-value]

    async def sweep() -> list[ArchiveSummary]:
        order.append("sweep")
        if "batch" not in order:
            await events.arrive()  # the first event comes with the sweep at start
        return []

    settings = ArchiverSettings(sweep_interval=100.0)
    archiver = events.archiver(
        tmp_path / "out",
        {"hover": source},
        settings,
        sweep=sweep,
        clock=lambda: now[0],
    )
    with anyio.fail_after(60):
        await archiver.run()
    assert order == ["sweep", "batch", "batch"] * 10
    assert events.journal.pending_jobs() == []  # every event's job was archived
    events.journal.close()


async def test_the_jobs_a_sweep_archives_get_their_takeoff_rows(
    emu: Emulator, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    async with hover_client(emu, http=FAST_HTTP) as hover:

        async def sweep() -> list[ArchiveSummary]:
            return [await archive(HoverSource(hover), str(out), ArchiveOptions(concurrency=4))]

        config = settings(out, tmp_path / "state")
        config = replace(
            config, archiver=replace(config.archiver, sweep_interval=3600.0, takeoff=True)
        )
        app = create_app(config, {"hover": lambda ids: HoverSource(hover)}, sweep=sweep)
        archiver = app[SERVICE].archiver
        async with serve(app):
            with anyio.fail_after(60):
                while not archiver.runs:  # the sweep at start
                    await archiver.wait_run()
    table = (out / "takeoff.csv").read_bytes()
    assert table == takeoff_csv((await read_takeoff(str(out))).rows)  # `hover takeoff OUT`
    jobs = {line.split(b",", 1)[0].decode() for line in table.splitlines()[1:]}
    assert jobs == {str(j) for j in emu.job_ids()}


def _sweeping_with_takeoff(
    events: Events, out: Path, sweep: Callable[[], Awaitable[list[ArchiveSummary]]]
) -> Archiver:
    """An archiver keeping ``OUT/takeoff.csv`` that runs ``sweep`` on every turn (its clock
    moves a sweep interval a reading)."""
    return events.archiver(
        out,
        {},
        ArchiverSettings(sweep_interval=100.0, takeoff=True),
        sweep=sweep,
        clock=itertools.count(step=100).__next__,
    )


async def test_the_takeoff_table_is_built_at_start_then_only_when_a_sweep_brings_files(
    emu: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "out"
    table = out / "takeoff.csv"
    events = Events(tmp_path / "state")
    seen: list[tuple[int, int] | None] = []  # the table's inode and mtime before each sweep
    job = out / "hover" / str(emu.job_ids()[0])
    async with hover_client(emu, http=FAST_HTTP) as hover:
        options = ArchiveOptions(concurrency=4)
        assert (await archive(HoverSource(hover), str(out), options)).downloaded
        archiver: Archiver

        async def sweep() -> list[ArchiveSummary]:
            seen.append((table.stat().st_ino, table.stat().st_mtime_ns) if table.exists() else None)
            if len(seen) == 3:  # a file gone, and the table cannot be written
                next(job.glob("models/*/measurements/pdf.pdf")).unlink()
                table.unlink()
                table.mkdir()
            if len(seen) == 4:
                table.rmdir()  # writable again, and nothing new to archive
                archiver.stop()
            return [await archive(HoverSource(hover), str(out), options)]

        archiver = _sweeping_with_takeoff(events, out, sweep)
        with anyio.fail_after(60):
            await archiver.run()
    events.journal.close()
    # 1: nothing new, but no table yet (the archive came before the service): built whole.
    # 2: nothing new: the table as it was. 3: a file again, the table failed. 4: mended.
    assert seen[0] is None and seen[1] is not None and seen[2] == seen[1]
    assert "takeoff.csv not updated" in caplog.text
    rows = table.read_bytes()
    assert rows == takeoff_csv((await read_takeoff(str(out))).rows)
    jobs = {line.split(b",", 1)[0].decode() for line in rows.splitlines()[1:]}
    assert jobs == {str(j) for j in emu.job_ids()}


async def test_a_sweep_of_every_source_keeps_the_others_summaries_when_one_fails() -> None:
    hover, analysis = object(), object()  # stand-ins: the sweep only passes them on

    async def ok_hover() -> Any:
        return hover

    async def down() -> Any:
        raise OSError("Bentley API unreachable")

    async def ok_analysis() -> Any:
        return analysis

    with pytest.raises(SweepIncomplete) as raised:
        await sweep_of_all([("hover", ok_hover), ("bentley", down), ("analysis", ok_analysis)])()
    assert str(raised.value) == "bentley: Bentley API unreachable"
    assert raised.value.summaries == [hover, analysis]
    assert await sweep_of_all([("hover", ok_hover), ("analysis", ok_analysis)])() == [
        hover,
        analysis,
    ]


@pytest.mark.parametrize("event_type", sorted(BENTLEY_ROUTES))
def test_a_journaled_bentley_job_is_archived_by_the_route_its_event_was_taken_for(
    event_type: str,
) -> None:
    body = json.dumps(
        {
            "eventType": event_type,
            "content": {"jobId": "a1b2", "state": "Success"},
            "messageId": "m-1",
        }
    ).encode()
    intent = bentley_intent(decode_bentley_event(body), body)
    assert intent is not None
    assert route_of("bentley", intent.event_type) == intent.route == BENTLEY_ROUTES[event_type]


async def test_jobs_replayed_from_the_journal_go_before_the_first_sweep(tmp_path: Path) -> None:
    """Jobs queued before the archiver starts were acknowledged before a restart: they are
    archived first, not after a sweep that may take hours."""
    events = Events(tmp_path / "state")
    for _ in range(3):
        await events.arrive()
    order: list[str] = []
    archiver: Archiver

    def source(ids: list[str]) -> ArchiveSource:
        order.append(f"batch of {len(ids)}")
        return NoFiles(anyio.lowlevel.checkpoint)  # type: ignore[return-value]

    async def sweep() -> list[ArchiveSummary]:
        order.append("sweep")
        archiver.stop()
        return []

    archiver = events.archiver(
        tmp_path / "out",
        {"hover": source},
        ArchiverSettings(sweep_interval=3600.0),
        sweep=sweep,
    )
    with anyio.fail_after(60):
        await archiver.run()
    assert order == ["batch of 3", "sweep"]
    assert events.journal.pending_jobs() == []
    events.journal.close()


def _summary(downloaded: int, job_failures: list[JobFailure] | None = None) -> ArchiveSummary:
    return ArchiveSummary(
        out="out",
        dry_run=False,
        jobs=1,
        jobs_failed=0,
        files=downloaded,
        downloaded=downloaded,
        skipped=0,
        failed=0,
        bytes=downloaded * 100,
        planned_bytes=None,
        elapsed=0.0,
        bytes_per_second=0.0,
        files_per_second=0.0,
        formats={},
        skipped_parts=[],
        failures=[],
        job_failures=job_failures or [],
    )


async def test_the_whole_takeoff_table_is_rebuilt_when_a_sweep_changed_or_may_have_changed_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = Events(tmp_path / "state")
    rebuilt: list[int] = []  # the sweeps after which the whole table was written
    archiver: Archiver

    async def write_takeoff(out: str, job_ids: list[str] | None = None) -> Any:
        assert job_ids is None
        rebuilt.append(len(swept))
        return type("Table", (), {"broken": []})()

    nothing, record = _summary(0), msgspec.structs.replace(_summary(0), records_changed=1)
    sweeps: list[Callable[[], list[ArchiveSummary]]] = [
        lambda: [nothing],  # 1: the first: built whole
        lambda: [nothing],  # 2: nothing new
        lambda: [record],  # 3: a job record changed (its address, say)
        lambda: [nothing, _raise(OSError("listing cut off"))],  # 4: failed: may have written
        lambda: [nothing],  # 5: mended
        lambda: _raise(SweepIncomplete([nothing], ["bentley: down"])),  # 6: failed in part
        lambda: [nothing],  # 7: nothing new
    ]
    swept: list[int] = []

    async def sweep() -> list[ArchiveSummary]:
        swept.append(len(swept) + 1)
        if len(swept) == len(sweeps):
            archiver.stop()
        return sweeps[len(swept) - 1]()

    monkeypatch.setattr("hoverbentley.serve.archiver.write_takeoff", write_takeoff)
    archiver = _sweeping_with_takeoff(events, tmp_path / "out", sweep)
    with anyio.fail_after(60):
        await archiver.run()
    events.journal.close()
    assert rebuilt == [1, 3, 5, 6]


def _raise(error: Exception) -> Any:
    raise error


async def test_a_sweep_that_failed_in_part_still_counts_what_it_archived(tmp_path: Path) -> None:
    events = Events(tmp_path / "state")
    metrics = ServeMetrics()
    archiver: Archiver

    async def sweep() -> list[ArchiveSummary]:
        archiver.stop()
        raise SweepIncomplete([_summary(5)], ["bentley: the API is down"])

    archiver = events.archiver(tmp_path / "out", {}, sweep=sweep, metrics=metrics)
    with anyio.fail_after(60):
        await archiver.run()
    text = metrics.text().decode()
    assert metric(text, "hoverbentley_serve_files_downloaded_total") == 5
    assert metric(text, "hoverbentley_serve_downloaded_bytes_total") == 500
    assert metric(text, "hoverbentley_serve_sweeps_total", outcome="failed") == 1
    events.journal.close()


async def test_a_run_cut_short_still_wakes_those_waiting_for_it(tmp_path: Path) -> None:
    events = Events(tmp_path / "state")
    await events.arrive()
    started = anyio.Event()

    async def held() -> None:
        started.set()
        await anyio.sleep_forever()

    archiver = events.archiver(
        tmp_path / "out",
        {"hover": lambda ids: NoFiles(held)},  # type: ignore[dict-item,return-value]
        ArchiverSettings(sweep_interval=None),
    )
    woken = anyio.Event()

    async def waiter() -> None:
        await archiver.wait_run()
        woken.set()

    with anyio.fail_after(60):
        async with anyio.create_task_group() as outer:
            outer.start_soon(waiter)
            async with anyio.create_task_group() as inner:
                inner.start_soon(archiver.run)
                await started.wait()
                inner.cancel_scope.cancel()  # as a drain past its timeout cuts the run short
    assert woken.is_set()
    assert events.journal.pending_jobs() == [JobKey("hover", "1")]  # archived at the next start
    events.journal.close()


async def _run_failing_while(
    events: Events,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    during: Callable[[Archiver], Awaitable[None]],
    metrics: ServeMetrics | None = None,
) -> None:
    """Run the archiver over the queued job "1", whose archive fails (its record does not
    decode) once ``during(archiver)`` has happened mid-run (``during`` stops the archiver)."""

    def source(ids: list[str]) -> ArchiveSource:
        return NoFiles(anyio.lowlevel.checkpoint)  # type: ignore[return-value]

    archiver = events.archiver(tmp_path / "out", {"hover": source}, metrics=metrics)

    async def failing(source: object, out: object, options: object) -> ArchiveSummary:
        await during(archiver)
        return _summary(0, [JobFailure(job_id="1", error="the record did not decode")])

    monkeypatch.setattr("hoverbentley.serve.archiver.archive", failing)
    with anyio.fail_after(60):
        await archiver.run()


async def test_jobs_taken_with_nothing_left_to_run_still_wake_those_waiting(
    tmp_path: Path,
) -> None:
    """A job queued, then finished by another run before it is taken, makes no run; who
    waits for the next run (``Service.settled()``) hears of it all the same."""
    events = Events(tmp_path / "state")
    await events.arrive()
    await events.journal.finish(JobKey("hover", "1"), ["m1"])  # archived meanwhile
    archiver = events.archiver(tmp_path / "out", {})
    waited = archiver.next_run()
    async with anyio.create_task_group() as group:
        group.start_soon(archiver.run)
        with anyio.fail_after(60):
            await waited.wait()
        archiver.stop()
    assert archiver.runs == 0 and events.queue.depth == 0 and not events.queue.running()
    events.journal.close()


async def test_a_job_that_fails_as_the_service_stops_is_left_pending_not_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    events = Events(tmp_path / "state")
    await events.arrive()
    metrics = ServeMetrics()

    async def sigterm(archiver: Archiver) -> None:
        archiver.stop()  # SIGTERM while the run is under way

    await _run_failing_while(events, tmp_path, monkeypatch, sigterm, metrics)
    assert "left pending for the next start" in caplog.text
    assert "trying again" not in caplog.text
    text = metrics.text().decode()
    assert metric(text, "hoverbentley_serve_jobs_retried_total", provider="hover") == 0
    assert metric(text, "hoverbentley_serve_jobs_failed_total", provider="hover") == 0
    assert events.journal.pending_jobs() == [JobKey("hover", "1")]
    retry = events.journal.retry(JobKey("hover", "1"))  # the next start counts it
    assert retry is not None
    assert (retry.failures, retry.error) == (1, "the record did not decode")
    events.journal.close()


async def test_a_new_event_during_a_failed_run_gives_the_job_its_attempts_afresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    events = Events(tmp_path / "state")
    await events.arrive()
    key = JobKey("hover", "1")

    async def another_event(archiver: Archiver) -> None:
        # Another event of the job is accepted while the run is under way, as the app does.
        again = Event(
            message_id="m1-again",
            provider="hover",
            job_id="1",
            received=time.time(),
            event_type="job-state-changed",
        )
        assert await events.journal.accept(again)
        archiver.renewed(key)
        archiver.stop()

    await _run_failing_while(events, tmp_path, monkeypatch, another_event)
    assert "a new event of the job came meanwhile" in caplog.text
    assert events.journal.retry(key) is None  # a restart gives it its attempts afresh
    assert [e.message_id for e in events.journal.pending_events(key)] == ["m1", "m1-again"]
    events.journal.close()
    again = Journal(tmp_path / "state")
    again.open()
    assert again.retry(key) is None
    again.close()


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"retry_delay": 0.0}, "retry_delay"),
        ({"retry_delay": 7200.0}, "retry_delay"),
        ({"max_attempts": 0}, "max_attempts"),
    ],
)
def test_settings_that_would_retry_in_a_loop_or_never_are_refused(
    changes: dict[str, Any], named: str
) -> None:
    with pytest.raises(ValueError, match=named):
        ArchiverSettings(**changes)
