"""The archiver: takes queued jobs and archives them into OUT through the archive pipeline.

Runs are one at a time (two runs appending to one local manifest would race its compaction):
each run takes every waiting job of the queue, up to a batch, and archives them with the same
:func:`~hoverbentley.archive.archive` as ``hover archive --job ...`` (concurrent downloads,
resume, sha256, manifest, later passes), one run per source. A job is marked finished in the
journal after the run's manifest is durable, for the events that were pending when it began;
an event that came during the run queues the job once more. The catch-up sweep runs between
batches, at start and every ``sweep_interval`` seconds.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import anyio

from ..archive import ArchiveOptions, ArchiveSource, ArchiveSummary, archive
from ..archive.plan import job_directory
from ..archive.takeoff import write_takeoff
from .events import BENTLEY_ANALYSIS, BENTLEY_V1, BENTLEY_V2, HOVER
from .journal import JobKey, Journal, JournalUnavailable
from .metrics import ServeMetrics
from .queue import JobQueue

logger = logging.getLogger("hoverbentley.serve")

#: A source of the jobs given by id, for a route (``hover``, ``bentley-v2``, ...).
SourceFactory = Callable[[list[str]], ArchiveSource]
#: The catch-up sweep: a ``--since last`` run of every source, its summaries returned.
Sweep = Callable[[], Awaitable[list[ArchiveSummary]]]

_ROUTES_BY_TYPE = {
    "realityModeling.jobCompleted.v2": BENTLEY_V2,
    "realityModeling.jobCompleted.v1": BENTLEY_V1,
    "realityAnalysis.jobCompleted.v1": BENTLEY_ANALYSIS,
}


def route_of(provider: str, event_type: str) -> str:
    """The route (which source archives it) of a job by its provider and its event's type."""
    return HOVER if provider == HOVER else _ROUTES_BY_TYPE.get(event_type, BENTLEY_V2)


@dataclass(frozen=True)
class ArchiverSettings:
    """How the archiver runs: archive options, jobs per run, sweep interval (``None``: no
    sweep), the pause before a run that failed as a whole is tried again, and whether
    ``OUT/takeoff.csv`` is kept current (the rows of the Hover jobs each run archived)."""

    options: ArchiveOptions = field(default_factory=ArchiveOptions)
    batch: int = 64
    sweep_interval: float | None = 3600.0
    retry_delay: float = 30.0
    takeoff: bool = False


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
        #: Runs finished: archives and sweeps.
        self.runs = 0
        self._ran: anyio.Event | None = None

    async def wait_run(self) -> None:
        """Return when the next run (an archive or a sweep) has finished."""
        if self._ran is None:
            self._ran = anyio.Event()
        await self._ran.wait()

    def _finished_run(self) -> None:
        self.runs += 1
        ran, self._ran = self._ran, None
        if ran is not None:
            ran.set()

    def stop(self) -> None:
        """Take no more jobs; a run under way goes on (cancel :meth:`run` to cut it short)."""
        self._stopping = True
        if self._idle is not None:
            self._idle.cancel()

    async def run(self) -> None:
        """Archive queued jobs and sweep, until :meth:`stop` (returns) or cancelled.

        A sweep that is due runs before the next batch, however many jobs wait: under steady
        events the queue is never empty, and the sweep would never come.
        """
        interval = self.settings.sweep_interval
        next_sweep = self._clock() if self.sweep is not None else math.inf
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
        except Exception as exc:
            self.metrics.sweeps.labels("failed").inc()
            logger.error("catch-up sweep failed: %s", exc)
            return
        finally:
            self._finished_run()
        for summary in summaries:
            self.metrics.files.inc(summary.downloaded)
            self.metrics.bytes.inc(summary.bytes)
        ok = all(s.ok for s in summaries)
        self.metrics.sweeps.labels("ok" if ok else "incomplete").inc()
        logger.info(
            "catch-up sweep: %d jobs, %d files downloaded",
            sum(s.jobs for s in summaries),
            sum(s.downloaded for s in summaries),
        )

    async def _archive(self, batch: list[JobKey]) -> None:
        by_route: dict[str, list[JobKey]] = {}
        for key in batch:
            events = self.journal.pending_events(key)
            if not events:
                self.queue.done(key)  # its events were finished meanwhile
                continue
            route = route_of(key.provider, events[-1].event_type)
            by_route.setdefault(route, []).append(key)
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
        except Exception as exc:
            logger.error(
                "archiving %d %s jobs failed, trying again in %.0f s: %s",
                len(keys),
                route,
                self.settings.retry_delay,
                exc,
            )
            await self._again(keys)
            return
        self.metrics.files.inc(summary.downloaded)
        self.metrics.bytes.inc(summary.bytes)
        failed = _failed_jobs(summary, keys)
        if self.settings.takeoff and route == HOVER:
            await self._takeoff([k.job_id for k in keys if k.job_id not in failed])
        now = time.time()
        unrecorded: list[JobKey] = []
        for key in keys:
            ok = key.job_id not in failed
            try:
                await self.journal.finish(key, covered[key], ok=ok)
            except JournalUnavailable as exc:  # its events stay pending: archived again
                logger.error("%s job %s: %s", key.provider, key.job_id, exc)
                unrecorded.append(key)
                continue
            if ok:
                logger.info("%s job %s archived", key.provider, key.job_id)
                self.metrics.jobs_archived.labels(key.provider).inc()
                self.metrics.latency.observe(max(0.0, now - first[key]))
            else:
                self.metrics.jobs_failed.labels(key.provider).inc()
                logger.warning(
                    "%s job %s: archive incomplete (%s); the next sweep tries again",
                    key.provider,
                    key.job_id,
                    failed[key.job_id],
                )

        if unrecorded:
            logger.error(
                "%d jobs archived but not recorded in the journal; trying again in %.0f s",
                len(unrecorded),
                self.settings.retry_delay,
            )
            await self._again(unrecorded)

    async def _again(self, keys: list[JobKey]) -> None:
        """Queue ``keys`` again after the retry delay (their events are still pending)."""
        with anyio.CancelScope() as self._idle:  # stop() ends the pause, not the requeue
            if not self._stopping:
                await anyio.sleep(self.settings.retry_delay)
        self._idle = None
        for key in keys:
            self.queue.put(key, force=True)  # running: it waits again when done

    async def _takeoff(self, job_ids: list[str]) -> None:
        if not job_ids:
            return
        try:
            table = await write_takeoff(str(self.out), job_ids=job_ids)
        except Exception as exc:  # the archive is whole; the table is mended by the next run
            logger.error("takeoff.csv not updated: %s", exc)
            return
        for broken in table.broken:
            logger.warning("takeoff: %s: %s", broken.path, broken.problem)


def _failed_jobs(summary: ArchiveSummary, keys: list[JobKey]) -> dict[str, str]:
    """The job ids of ``keys`` with a failed record or file, and the first error of each."""
    failed = {f.job_id: f.error for f in summary.job_failures}
    directories = {job_directory(k.provider, k.job_id) + "/": k.job_id for k in keys}
    for failure in summary.failures:
        for prefix, job_id in directories.items():
            if failure.path.startswith(prefix):
                failed.setdefault(job_id, failure.error)
    return failed
