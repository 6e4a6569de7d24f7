"""The archiver: takes queued jobs and archives them into OUT through the archive pipeline.

Runs are one at a time (two runs appending to one local manifest would race its compaction):
each run takes every waiting job of the queue, up to a batch, and archives them with the same
:func:`~hoverbentley.archive.archive` as ``hover archive --job ...`` (concurrent downloads,
resume, sha256, manifest, later passes), one run per source. A job is marked finished in the
journal after the run's manifest is durable, for the events that were pending when it began;
an event that came during the run queues the job once more. A job whose archive failed is
queued again later, with a growing pause, up to a number of attempts (see
:class:`ArchiverSettings`), whether or not a sweep covers it. The catch-up sweep runs between
batches, at start and every ``sweep_interval`` seconds.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

import anyio

from ..archive import ArchiveOptions, ArchiveSource, ArchiveSummary, archive
from ..archive.plan import job_directory
from ..archive.takeoff import write_takeoff
from .defaults import MAX_ATTEMPTS, MAX_RETRY_DELAY, RETRY_DELAY
from .events import HOVER, route_of
from .journal import JobKey, Journal, JournalUnavailable
from .metrics import ServeMetrics
from .queue import JobQueue

logger = logging.getLogger("hoverbentley.serve")

#: A source of the jobs given by id, for a route (``hover``, ``bentley-v2``, ...).
SourceFactory = Callable[[list[str]], ArchiveSource]
#: The catch-up sweep: a ``--since last`` run of every source, its summaries returned.
Sweep = Callable[[], Awaitable[list[ArchiveSummary]]]


class SweepIncomplete(Exception):
    """What a sweep raises when some of its sources failed: the others' ``summaries`` are
    still counted (and their jobs' takeoff rows written)."""

    def __init__(self, summaries: list[ArchiveSummary], failures: list[str]) -> None:
        super().__init__("; ".join(failures))
        self.summaries = summaries


#: A catch-up sweep of one source, and the source's name for the log.
NamedSweep = tuple[str, Callable[[], Awaitable[ArchiveSummary]]]


def sweep_of_all(sweeps: Sequence[NamedSweep]) -> Sweep:
    """One sweep of every source in turn: :class:`SweepIncomplete` (with the others'
    summaries) when any failed, naming each that did."""

    async def sweep() -> list[ArchiveSummary]:
        summaries: list[ArchiveSummary] = []
        failures: list[str] = []
        for name, each in sweeps:
            try:
                summaries.append(await each())
            except Exception as exc:
                failures.append(f"{name}: {exc}")
        if failures:
            raise SweepIncomplete(summaries, failures)
        return summaries

    return sweep


@dataclass(frozen=True)
class ArchiverSettings:
    """How the archiver runs: archive options, jobs per run, sweep interval (``None``: no
    sweep), and whether ``OUT/takeoff.csv`` is kept current (the rows of the Hover jobs each
    run archived; the whole table at the first run, after a sweep that wrote files or job
    records or failed, and after a failed update: a sweep's summaries name no job).

    A job whose archive failed is queued again after ``retry_delay`` seconds, the pause
    doubling after each failure in a row up to ``max_retry_delay``; after ``max_attempts``
    attempts it is recorded as failed (log, ``jobs_failed`` metric, journal). A run that
    failed as a whole (the API or OUT out of reach) is tried again the same way, without end.
    """

    options: ArchiveOptions = field(default_factory=ArchiveOptions)
    batch: int = 64
    sweep_interval: float | None = 3600.0
    retry_delay: float = RETRY_DELAY
    max_retry_delay: float = MAX_RETRY_DELAY
    max_attempts: int = MAX_ATTEMPTS
    takeoff: bool = False

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1: {self.max_attempts}")
        if not 0 < self.retry_delay <= self.max_retry_delay:
            raise ValueError(
                "retry_delay must be more than 0 and at most max_retry_delay:"
                f" {self.retry_delay}, {self.max_retry_delay}"
            )


class Archiver:
    """Archives the jobs of ``queue`` into ``out`` (a directory or a store URL); ``clock``
    (``time.monotonic``) times the sweeps."""

    def __init__(
        self,
        out: str | os.PathLike[str],
        journal: Journal,
        queue: JobQueue[JobKey],
        metrics: ServeMetrics,
        sources: Mapping[str, SourceFactory],
        settings: ArchiverSettings | None = None,
        *,
        sweep: Sweep | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.out = out
        self.journal = journal
        self.queue = queue
        self.metrics = metrics
        self.sources = sources
        self.settings = settings or ArchiverSettings()
        self.sweep = sweep
        self._clock = clock
        self._stopping = False
        self._idle: anyio.CancelScope | None = None
        #: Failed attempts in a row of the jobs being tried again.
        self._failures: dict[JobKey, int] = {}
        #: Runs in a row that failed as a whole, by route.
        self._run_failures: dict[str, int] = {}
        self._scheduled: dict[JobKey, asyncio.TimerHandle] = {}
        #: Whether ``OUT/takeoff.csv`` is to be built whole: at start (it may be missing or
        #: older than the archive), and after a failed update.
        self._takeoff_stale = True
        #: Runs finished: archives and sweeps.
        self.runs = 0
        self._ran: anyio.Event | None = None

    async def wait_run(self) -> None:
        """Return when the next run (an archive or a sweep) has finished."""
        await self.next_run().wait()

    def next_run(self) -> anyio.Event:
        """An event set when the next run (an archive or a sweep) has finished, or jobs taken
        had nothing left to run: taken before a task that waits for it starts, a run that
        ends meanwhile counts."""
        if self._ran is None:
            self._ran = anyio.Event()
        return self._ran

    def _finished_run(self) -> None:
        self.runs += 1
        self._wake_waiters()

    def _wake_waiters(self) -> None:
        ran, self._ran = self._ran, None
        if ran is not None:
            ran.set()

    def stop(self) -> None:
        """Take no more jobs, nor queue the failed ones again; a run under way goes on (cancel
        :meth:`run` to cut it short)."""
        self._stopping = True
        if self._idle is not None:
            self._idle.cancel()
        for scheduled in self._scheduled.values():
            scheduled.cancel()
        self._scheduled.clear()

    async def run(self) -> None:
        """Archive queued jobs and sweep, until :meth:`stop` (returns) or cancelled.

        A sweep that is due runs before the next batch, however many jobs wait: under steady
        events the queue is never empty, and the sweep would never come.
        """
        interval = self.settings.sweep_interval
        next_sweep = self._clock() if self.sweep is not None else math.inf
        # The jobs queued before the first run (replayed from the journal: acknowledged before
        # a restart) go before the first sweep, which may take hours.
        backlog = self.queue.depth
        while backlog > 0 and not self._stopping:
            batch = await self._next_batch(0.0)
            if not batch:
                break
            backlog -= len(batch)
            await self._archive(batch)
        while not self._stopping:
            if self._clock() >= next_sweep:
                await self._sweep()
                next_sweep = self._clock() + interval if interval else math.inf
                continue
            batch = await self._next_batch(next_sweep - self._clock())
            if batch:
                await self._archive(batch)

    async def _next_batch(self, wait: float) -> list[JobKey]:
        """The jobs waiting, taken once one is there; none after ``wait`` seconds or at a
        stop."""
        batch: list[JobKey] = []
        try:
            with anyio.CancelScope() as self._idle:
                with anyio.move_on_after(wait if math.isfinite(wait) else None):
                    batch = await self.queue.take(self.settings.batch)
        finally:
            self._idle = None
        return batch

    async def _sweep(self) -> None:
        assert self.sweep is not None
        try:
            summaries = await self.sweep()
        except SweepIncomplete as exc:
            logger.error("catch-up sweep failed in part: %s", exc)
            self._takeoff_stale = True  # the source that failed may have written files
            await self._swept(exc.summaries, "failed")
        except Exception as exc:
            self._takeoff_stale = True
            self.metrics.sweeps.labels("failed").inc()
            logger.error("catch-up sweep failed: %s", exc)
        else:
            await self._swept(summaries)
        finally:
            self._finished_run()

    async def _swept(self, summaries: list[ArchiveSummary], outcome: str | None = None) -> None:
        """Count and log what a sweep did (``outcome``: by its summaries unless given), and
        bring ``OUT/takeoff.csv`` up to date."""
        for summary in summaries:
            self.metrics.files.inc(summary.downloaded)
            self.metrics.bytes.inc(summary.bytes)
        jobs = sum(s.jobs for s in summaries)
        downloaded = sum(s.downloaded for s in summaries)
        changed = downloaded + sum(s.records_changed for s in summaries)
        # A summary names no job: the whole table, once a sweep brought anything new.
        if self.settings.takeoff and (changed or self._takeoff_stale):
            await self._takeoff(None)
        ok = all(s.ok for s in summaries)
        self.metrics.sweeps.labels(outcome or ("ok" if ok else "incomplete")).inc()
        logger.info(
            "catch-up sweep: %d jobs, %d files downloaded",
            jobs,
            downloaded,
        )

    def resume(self, key: JobKey, failures: int, delay: float) -> None:
        """Go on with job ``key``, pending since before a restart after ``failures`` failed
        attempts: queued in ``delay`` seconds (at once if none)."""
        self._failures[key] = failures
        if delay > 0:  # a clock set back since is not waited out beyond the longest pause
            self._later([key], min(delay, self.settings.max_retry_delay))
        else:
            self.queue.put(key, force=True)

    def serves(self, key: JobKey) -> bool:
        """Whether pending job ``key`` has a source here (a journal written by a service with
        other sources may hold jobs this one leaves for a later start)."""
        return self._route(key) in self.sources

    def _route(self, key: JobKey) -> str | None:
        """The route of pending job ``key``, by its latest event (``None`` if none pends)."""
        events = self.journal.pending_events(key)
        return route_of(key.provider, events[-1].event_type) if events else None

    def renewed(self, key: JobKey) -> None:
        """A new event of job ``key`` was accepted: its attempts count from one again."""
        self._failures.pop(key, None)

    async def _archive(self, batch: list[JobKey]) -> None:
        by_route: dict[str, list[JobKey]] = {}
        for key in batch:
            # Taken now, by an event or the timer: a pause still scheduled has no more to do.
            self._unschedule(key)
            route = self._route(key)
            if route is None:
                self.queue.done(key)  # its events were finished meanwhile
                continue
            by_route.setdefault(route, []).append(key)
        if not by_route:  # nothing to run: a waiter still hears that the queue moved on
            self._wake_waiters()
        for route, keys in by_route.items():
            try:
                await self._archive_route(route, keys)
            finally:
                for key in keys:
                    self.queue.done(key)
                self._finished_run()

    async def _archive_route(self, route: str, keys: list[JobKey]) -> None:
        factory = self.sources.get(route)
        if factory is None:  # the app refuses such events; a journal of another setup may not
            logger.warning("no source archives %s jobs here: %d left pending", route, len(keys))
            return
        covered = {k: [e.message_id for e in self.journal.pending_events(k)] for k in keys}
        first = {k: min(e.received for e in self.journal.pending_events(k)) for k in keys}
        try:
            source = factory([k.job_id for k in keys])
            summary = await archive(source, self.out, self.settings.options)
        except Exception as exc:  # the API or OUT out of reach: nothing said of any one job
            self._run_failures[route] = self._run_failures.get(route, 0) + 1
            delay = self._backoff(self._run_failures[route])
            logger.error(
                "archiving %d %s jobs failed, trying again in %g s: %s",
                len(keys),
                route,
                delay,
                exc,
            )
            self._later(keys, delay)
            return
        self._run_failures.pop(route, None)
        self.metrics.files.inc(summary.downloaded)
        self.metrics.bytes.inc(summary.bytes)
        failed = _failed_jobs(summary, keys)
        if self.settings.takeoff and route == HOVER:
            await self._takeoff([k.job_id for k in keys if k.job_id not in failed])
        unrecorded: list[JobKey] = []
        for key in keys:
            error = failed.get(key.job_id)
            if error is not None and await self._tried_again(key, error, covered[key]):
                continue
            try:
                await self.journal.finish(key, covered[key], error=error)
            except JournalUnavailable as exc:  # its events stay pending: archived again
                logger.error("%s job %s: %s", key.provider, key.job_id, exc)
                unrecorded.append(key)
                continue
            self._recorded(key, error, first[key])
        if unrecorded:
            logger.error(
                "%d jobs archived but not recorded in the journal; trying again in %g s",
                len(unrecorded),
                self.settings.retry_delay,
            )
            self._later(unrecorded, self.settings.retry_delay)

    async def _tried_again(self, key: JobKey, error: str, covered: list[str]) -> bool:
        """Schedule another attempt of the job ``key`` whose archive after events ``covered``
        failed, and journal it, unless it has had its last (``False``: it is to be recorded
        as failed)."""
        attempts = self._failures.get(key, 0) + 1
        last = self.settings.max_attempts
        if attempts >= last:
            return False
        self._failures[key] = attempts
        delay = self._backoff(attempts)
        try:
            journaled = await self.journal.retrying(key, attempts, error, delay, covered)
        except JournalUnavailable as exc:  # counted in memory; a restart counts from the last
            logger.error("%s job %s: attempt not journaled: %s", key.provider, key.job_id, exc)
            journaled = True
        if not journaled:  # queued by the new event, which gives it its attempts afresh
            self._failures.pop(key, None)
            _incomplete(key, error, "a new event of the job came meanwhile")
            return True
        if self._stopping:  # no attempt is scheduled now: the next start archives it
            _incomplete(key, error, "left pending for the next start")
            return True
        self.metrics.jobs_retried.labels(key.provider).inc()
        _incomplete(key, error, f"trying again in {delay:g} s (attempt {attempts + 1} of {last})")
        self._later([key], delay)
        return True

    def _recorded(self, key: JobKey, error: str | None, first: float) -> None:
        """Log and count job ``key``, archived or (with ``error``) failed for good."""
        attempts = self._failures.pop(key, 0) + 1
        if error is None:
            logger.info("%s job %s archived", key.provider, key.job_id)
            self.metrics.jobs_archived.labels(key.provider).inc()
            self.metrics.latency.observe(max(0.0, time.time() - first))
            return
        self.metrics.jobs_failed.labels(key.provider).inc()
        logger.error(
            "%s job %s: archive failed on attempt %d of %d, recorded as failed in the journal: %s",
            key.provider,
            key.job_id,
            attempts,
            self.settings.max_attempts,
            error,
        )

    def _backoff(self, failures: int) -> float:
        """The pause after the ``failures``-th failure in a row: the retry delay, doubled
        after each failure, up to the largest."""
        delay = self.settings.retry_delay * 2.0 ** min(failures - 1, 64)
        return min(delay, self.settings.max_retry_delay)

    def _later(self, keys: list[JobKey], delay: float) -> None:
        """Queue ``keys`` again in ``delay`` seconds (their events stay pending meanwhile,
        and after a stop, which drops what is scheduled)."""
        if self._stopping:
            return
        loop = asyncio.get_running_loop()
        for key in keys:
            self._unschedule(key)
            self._scheduled[key] = loop.call_later(delay, self._requeue, key)

    def _unschedule(self, key: JobKey) -> None:
        scheduled = self._scheduled.pop(key, None)
        if scheduled is not None:
            scheduled.cancel()

    def _requeue(self, key: JobKey) -> None:
        del self._scheduled[key]
        self.queue.put(key, force=True)  # running: it waits again when done

    async def _takeoff(self, job_ids: list[str] | None) -> None:
        """Bring ``OUT/takeoff.csv`` up to date: the rows of the Hover jobs ``job_ids``
        replaced, or (``None``, and while the table is stale) the whole table."""
        if job_ids == []:
            return
        if self._takeoff_stale:
            job_ids = None
        try:
            table = await write_takeoff(str(self.out), job_ids=job_ids)
        except Exception as exc:  # the archive is whole; the table is mended by the next run
            logger.error("takeoff.csv not updated: %s", exc)
            self._takeoff_stale = True
            return
        self._takeoff_stale = False
        for broken in table.broken:
            logger.warning("takeoff: %s: %s", broken.path, broken.problem)


def _incomplete(key: JobKey, error: str, then: str) -> None:
    """Log that job ``key``'s archive failed with ``error``, and what ``then`` happens."""
    logger.warning("%s job %s: archive incomplete (%s); %s", key.provider, key.job_id, error, then)


def _failed_jobs(summary: ArchiveSummary, keys: list[JobKey]) -> dict[str, str]:
    """The job ids of ``keys`` with a failed record or file, and the first error of each."""
    failed = {f.job_id: f.error for f in summary.job_failures}
    directories = {job_directory(k.provider, k.job_id) + "/": k.job_id for k in keys}
    for failure in summary.failures:
        for prefix, job_id in directories.items():
            if failure.path.startswith(prefix):
                failed.setdefault(job_id, failure.error)
    return failed
