"""The archive pipeline: list jobs → fetch records → plan files → download, all overlapping.

Stages are joined by bounded anyio memory streams, so downloads start while jobs are still
being listed and memory stays flat however many jobs there are. Concurrency is set in one
place: the number of workers per stage, and one CapacityLimiter per download host. The
pipeline knows a source and a destination through their protocols only.

After the main pass, later passes (``ArchiveOptions.retries``) plan again the jobs that had a
failure and fetch only what failed, on the same machinery.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import anyio
import msgspec
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from .._core.urls import origin
from .._http.digest import Digest
from .._http.transfer import Writer
from ..auth import TokenStoreError
from ..download import DownloadResult
from ..errors import (
    ArchiveWriteError,
    AuthenticationError,
    ConfigurationError,
    CredentialsError,
    HoverBentleyError,
)
from ..redact import redact_url
from ..stores import StoreUnavailable, parse_location
from .destination import Destination
from .local import LocalDirectory
from .manifest import ManifestEntry, file_entry
from .options import ArchiveOptions
from .plan import ArchiveSource, JobPlan, PlannedFile
from .shard import Shard, ShardBy, in_shard, owns_file
from .summary import ArchiveSummary, DryRunFile, FileFailure, JobFailure, Progress

__all__ = ["ArchiveOptions", "ArchiveWriteError", "DryRunListing", "Reporter", "archive"]

#: Errors of the run's setup rather than of one job (the credentials, the token store): every
#: job would meet them, so the first ends the run, as it would end a listing. (Other usage
#: errors met while planning one job come from that job's data: it fails alone.)
SETUP_ERRORS = (AuthenticationError, CredentialsError, TokenStoreError, StoreUnavailable)


Reporter = Callable[[Progress], Coroutine[Any, Any, None]]
#: Told each file a dry run plans, with what the run would do with it.
DryRunListing = Callable[[DryRunFile], None]

#: What a planning worker does with a job id: plan it and send the files to fetch.
_Planner = Callable[[str, MemoryObjectSendStream[PlannedFile]], Awaitable[None]]


async def _each(items: list[str]) -> AsyncIterator[str]:
    for item in items:
        yield item


class _Run:
    def __init__(
        self,
        source: ArchiveSource,
        destination: Destination,
        options: ArchiveOptions,
        shard: Shard | None = None,
        shard_by: ShardBy = "job",
        listing: DryRunListing | None = None,
    ) -> None:
        self.source = source
        self.listing = listing
        #: Cancelled when a limit of ``options`` stops the run (set by :func:`archive`).
        self.limits = anyio.CancelScope()
        self.shard = shard
        self.shard_by = shard_by
        self.destination = destination
        self.options = options
        hosts = getattr(source, "hosts", None)  # optional: a source may not track its hosts
        self.progress = Progress(hosts=hosts() if hosts is not None else [])
        self.fatal: BaseException | None = None
        self._hosts: dict[tuple[str, str, int], anyio.CapacityLimiter] = {}
        #: Files whose latest attempt failed, by path (what a later pass fetches again).
        self._failed: dict[str, PlannedFile] = {}
        #: Paths a later pass is fetching again now, and every path that needed one.
        self._retrying: set[str] = set()
        self._retried: set[str] = set()
        #: Jobs whose plan failed in the pass before this one.
        self._replanning: set[str] = set()

    def _host_limiter(self, url: str) -> anyio.CapacityLimiter:
        host = origin(url)
        if host not in self._hosts:
            self._hosts[host] = anyio.CapacityLimiter(self.options.per_host)
        return self._hosts[host]

    async def _guard(
        self, group: TaskGroup, work: Callable[..., Awaitable[None]], *args: Any
    ) -> None:
        try:
            await work(*args)
        except Exception as exc:
            if self.fatal is None:
                self.fatal = exc
            group.cancel_scope.cancel()

    async def run_pass(self, job_ids: AsyncIterator[str], planner: _Planner) -> None:
        """Plan the jobs ``job_ids`` yields and download what ``planner`` sends, overlapping."""
        options = self.options
        jobs_send, jobs_receive = anyio.create_memory_object_stream[str](
            options.detail_concurrency * 2
        )
        files_send, files_receive = anyio.create_memory_object_stream[PlannedFile](
            options.concurrency * 4
        )
        async with anyio.create_task_group() as group:
            group.start_soon(self._guard, group, self.list_jobs, job_ids, jobs_send)
            with jobs_receive, files_send:
                for _ in range(options.detail_concurrency):
                    group.start_soon(
                        self._guard,
                        group,
                        self.plan_jobs,
                        jobs_receive.clone(),
                        files_send.clone(),
                        planner,
                    )
            with files_receive:
                for _ in range(options.concurrency):
                    group.start_soon(self._guard, group, self.download, files_receive.clone())

    async def listed(self) -> AsyncIterator[str]:
        """The source's jobs (of this run's shard), counted as they are listed; sharded by
        output, every job (each shard plans it and fetches its own outputs)."""
        async for job_id in self.source.job_ids():
            if self.shard_by == "job" and not in_shard(self.source.provider, job_id, self.shard):
                continue
            self.progress.jobs += 1
            yield job_id
        self.progress.listing_done = True

    async def list_jobs(
        self, job_ids: AsyncIterator[str], send: MemoryObjectSendStream[str]
    ) -> None:
        async with send:
            async for job_id in job_ids:
                await send.send(job_id)

    async def plan_jobs(
        self,
        receive: MemoryObjectReceiveStream[str],
        send: MemoryObjectSendStream[PlannedFile],
        planner: _Planner,
    ) -> None:
        async with receive, send:
            async for job_id in receive:
                await planner(job_id, send)

    async def plan_new(self, job_id: str, send: MemoryObjectSendStream[PlannedFile]) -> None:
        """A job seen for the first time: its record, its index row and every file."""
        try:
            plan = await self.source.plan(job_id)
        except SETUP_ERRORS:
            raise  # every job would fail alike: the run stops, as a listing's would
        except HoverBentleyError as exc:
            self.progress.job_failures.append(JobFailure(job_id=job_id, error=str(exc)))
            return
        if in_shard(plan.provider, plan.job_id, self.shard):
            await self._record_job(plan)  # the job's owner writes its record and index row
        for file in plan.files:
            if owns_file(plan.provider, file.job_id, file.part_id, self.shard, self.shard_by):
                await self._offer(file, send)
        self.progress.jobs_planned += 1

    async def plan_again(self, job_id: str, send: MemoryObjectSendStream[PlannedFile]) -> None:
        """A later pass: a job that failed is planned as new; else only its failed files go."""
        if job_id in self._replanning:
            await self.plan_new(job_id, send)
            return
        try:
            plan = await self.source.plan(job_id)
        except SETUP_ERRORS:
            raise
        except HoverBentleyError:
            return  # its failed files keep their errors; the next pass tries again
        for file in plan.files:
            if file.path in self._retrying:
                self._retried.add(file.path)
                self.progress.retried_files = len(self._retried)
                await send.send(file)

    async def later_passes(self) -> None:
        """Up to ``retries`` more passes over what failed, each from a fresh plan."""
        p = self.progress
        for _ in range(self.options.retries):
            self._replanning = {f.job_id for f in p.job_failures}
            self._retrying = set(self._failed)
            jobs = self._replanning | {f.job_id for f in self._failed.values()}
            if not jobs:
                return
            p.job_failures = [f for f in p.job_failures if f.job_id not in self._replanning]
            await self.run_pass(_each(sorted(jobs)), self.plan_again)
            if self.fatal is not None:
                return

    async def _record_job(self, plan: JobPlan) -> None:
        self.progress.skipped_parts.extend(plan.skipped)
        if self.options.dry_run:
            return
        record_path = f"{plan.directory}/job.json"
        digest = hashlib.sha256(plan.record).hexdigest()
        previous = self.destination.entry(record_path)
        await self.destination.write_record(record_path, plan.record)
        if previous is None or previous.status != "ok" or previous.sha256 != digest:
            self.progress.records_changed += 1
            await self.destination.record(
                ManifestEntry(
                    path=record_path,
                    url=redact_url(plan.record_url),
                    size=len(plan.record),
                    sha256=digest,
                    job_id=plan.job_id,
                    kind="job",
                    format="json",
                    status="ok",
                    completed_at=time.time(),
                )
            )
        self.destination.add_index_row(
            {
                "provider": plan.provider,
                "job_id": plan.job_id,
                **plan.index,
                "directory": plan.directory,
            }
        )

    async def _offer(self, file: PlannedFile, send: MemoryObjectSendStream[PlannedFile]) -> None:
        p = self.progress
        p.files += 1
        p.formats[file.format] = p.formats.get(file.format, 0) + 1
        if file.size is None:
            p.unknown_sizes += 1
        else:
            p.planned_bytes += file.size
        dry_run = self.options.dry_run
        if await self.destination.is_complete(file):
            p.skipped += 1
            entry = self.destination.entry(file.path)
            size = entry.size if entry is not None and entry.size is not None else file.size
            p.skipped_bytes += size or 0
            if dry_run:
                self._list(file, "skip", "complete in the archive", size)
            else:
                await self._follow_url(file)
            return
        p.fetch_files += 1
        if file.size is None:
            p.fetch_unknown += 1
        else:
            p.fetch_known_bytes += file.size
        if dry_run:
            self._list(file, "fetch", self._why_fetch(file), file.size)
            return
        await send.send(file)

    def _list(self, file: PlannedFile, action: str, reason: str, size: int | None) -> None:
        if self.listing is not None:
            self.listing(
                DryRunFile(
                    job_id=file.job_id, path=file.path, size=size, action=action, reason=reason
                )
            )

    def _why_fetch(self, file: PlannedFile) -> str:
        """Why a file that is not complete would be fetched, from its manifest line."""
        entry = self.destination.entry(file.path)
        if entry is None:
            return "not in the archive"
        if entry.status != "ok":
            return "failed in an earlier run" + (f": {entry.error}" if entry.error else "")
        return "in the manifest, but missing, of another size or changed at the source"

    async def _fetch(self, file: PlannedFile, writer: Writer) -> DownloadResult:
        """The source's fetch, its bytes counted as they arrive (the current rate, and the
        ``max_transfer`` limit)."""
        return await self.source.fetch(file, _Counted(writer, self))

    def moved(self, count: int) -> None:
        """``count`` more bytes arrived; stop the run once ``max_transfer`` is reached."""
        p = self.progress
        p.transferred += count
        limit = self.options.max_transfer
        if limit is not None and p.transferred >= limit and p.stopped is None:
            p.stopped = "max_transfer"
            self.limits.cancel()

    async def _follow_url(self, file: PlannedFile) -> None:
        """Keep the manifest line of a complete file on the URL it is listed under now."""
        entry = self.destination.entry(file.path)
        url = redact_url(file.url)  # as the manifest keeps it
        if entry is not None and entry.url != url:
            await self.destination.record(msgspec.structs.replace(entry, url=url))

    def _set_failed(self, file: PlannedFile, failure: FileFailure | None) -> None:
        """Record the outcome of a file's latest attempt in the failure counters."""
        p = self.progress
        if file.path in self._failed:
            del self._failed[file.path]
            p.failures = [f for f in p.failures if f.path != file.path]
        if failure is not None:
            self._failed[file.path] = file
            p.failures.append(failure)
        p.failed = len(self._failed)

    async def download(self, receive: MemoryObjectReceiveStream[PlannedFile]) -> None:
        async with receive:
            async for file in receive:
                await self._download_one(file)

    async def _download_one(self, file: PlannedFile) -> None:
        p = self.progress
        async with self._host_limiter(file.url):
            p.in_flight += 1
            try:
                result = await self.destination.receive(file, self._fetch)
            except ArchiveWriteError:
                raise
            except HoverBentleyError as exc:
                error = str(exc)
                self._set_failed(
                    file, FileFailure(path=file.path, url=redact_url(file.url), error=error)
                )
                if file.path not in self._retrying:
                    p.finished(file.size, None)
                await self.destination.record(file_entry(file, "failed", error=error))
                return
            finally:
                p.in_flight -= 1
        if file.path not in self._retrying:
            p.finished(file.size, result.received)
        self._set_failed(file, None)
        p.downloaded += 1
        p.bytes += result.received
        await self.destination.record(
            file_entry(file, "ok", size=result.size, sha256=result.sha256, etag=result.etag)
        )


class _Counted:
    """A writer that tells the run how many bytes went through it (see :meth:`_Run.moved`)."""

    def __init__(self, writer: Writer, run: _Run) -> None:
        self._writer = writer
        self._moved = run.moved

    @property
    def path(self) -> Path:
        return self._writer.path

    @property
    def size(self) -> int:
        return self._writer.size

    @property
    def etag(self) -> str | None:
        return self._writer.etag

    @property
    def digest(self) -> Digest:
        return self._writer.digest

    def write(self, data: bytes | memoryview) -> Awaitable[None]:
        self._moved(len(data))
        return self._writer.write(data)

    async def restart(self, etag: str | None) -> None:
        await self._writer.restart(etag)

    async def end(self, check: Callable[[Digest], None]) -> None:
        await self._writer.end(check)


def as_destination(
    out: str | os.PathLike[str] | Destination,
    shard: Shard | None = None,
    shard_by: ShardBy = "job",
) -> Destination:
    """``out`` as a destination: ``s3://…`` or ``az://…`` is an object store (the
    ``objectstore`` extra), a path or ``file://`` a :class:`LocalDirectory`; any other
    ``scheme://`` is a :class:`~.stores.StoreUnavailable` naming the supported ones. A shard
    writes its own manifest part, which only an object store keeps."""
    if isinstance(out, str):
        location = parse_location(out)
        if location.scheme != "file":
            from .object_store import ObjectStoreDestination

            return ObjectStoreDestination(out, shard=shard, shard_by=shard_by)
        out = location.prefix
    if shard is not None:
        raise ConfigurationError(
            "sharded runs write into an object store (s3://…, az://…): a local OUT has one manifest"
        )
    if isinstance(out, (str, os.PathLike)):
        return LocalDirectory(out)
    return out


async def archive(
    source: ArchiveSource,
    out: str | os.PathLike[str] | Destination,
    options: ArchiveOptions | None = None,
    *,
    reporter: Reporter | None = None,
    shard: Shard | None = None,
    shard_by: ShardBy = "job",
    listing: DryRunListing | None = None,
) -> ArchiveSummary:
    """Archive every job ``source`` lists into ``out``: a directory, an object store URL
    (``s3://bucket/prefix``, ``az://container/prefix``) or a destination.

    Files already complete (by manifest and size) are skipped; failures are recorded per file
    and the run goes on. A write failure (disk full, a directory in the way) stops the run with
    :class:`ArchiveWriteError`; completed files are kept and a rerun finishes the work.

    ``shard=(k, n)`` archives only the jobs of shard ``k`` of ``n`` (a stable hash of each
    job id), so n processes on n machines fill one object store with disjoint parts; each
    writes its own manifest part and every reader of the archive sees the whole.
    ``shard_by="output"`` spreads each job's outputs (a Bentley job's, a Hover job's models)
    over the shards by a stable hash of job and output, so one huge job is split too; every
    shard then plans every job, and the shard that owns the job id writes its record.

    A dry run reads what the archive holds and writes nothing; ``listing`` is told each file
    it plans, with whether the run would fetch or skip it, and why. ``options.max_transfer``
    and ``options.max_duration`` stop a run cleanly: its summary says so (``stopped``).
    """
    options = options or ArchiveOptions()
    destination = as_destination(out, shard, shard_by)
    run = _Run(source, destination, options, shard, shard_by, listing)
    if options.dry_run:
        await destination.load()
    else:
        await destination.open()
    try:
        async with anyio.create_task_group() as outer:
            if reporter is not None:
                outer.start_soon(reporter, run.progress)
            with run.limits:
                if options.max_duration is not None and not options.dry_run:
                    run.limits.deadline = anyio.current_time() + options.max_duration
                await run.run_pass(run.listed(), run.plan_new)
                if run.fatal is None and not options.dry_run:
                    await run.later_passes()
            if run.limits.cancelled_caught and run.progress.stopped is None:
                run.progress.stopped = "max_duration"
            outer.cancel_scope.cancel()
    finally:
        if not options.dry_run:
            with anyio.CancelScope(shield=True):
                if run.fatal is not None and isinstance(destination, LocalDirectory):
                    destination.discard_if_unused = True
                try:
                    await destination.close()
                except ArchiveWriteError as exc:
                    run.fatal = run.fatal or exc
    if run.fatal is not None:
        raise run.fatal
    return run.progress.summary(destination.location, dry_run=options.dry_run)
