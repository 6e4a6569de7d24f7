"""The archive pipeline: list jobs → fetch records → plan files → download, all overlapping.

Stages are joined by bounded anyio memory streams, so downloads start while jobs are still
being listed and memory stays flat however many jobs there are. Concurrency is set in one
place: the number of workers per stage, and one CapacityLimiter per download host.
"""

from __future__ import annotations

import errno
import hashlib
import os
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from .._io.atomic import write_atomic
from ..errors import ConfigurationError, HoverBentleyError
from ..redact import redact_url
from .index import INDEX_NAME, update_index
from .manifest import Manifest, ManifestEntry
from .plan import ArchiveSource, JobPlan, PlannedFile
from .summary import ArchiveSummary, FileFailure, JobFailure, Progress


class ArchiveWriteError(HoverBentleyError):
    """Files cannot be written under OUT (disk full, permissions); the run stops."""


@dataclass(frozen=True)
class ArchiveOptions:
    """How an archive run behaves.

    ``concurrency`` downloads run at once, at most ``per_host`` of them to one host;
    ``detail_concurrency`` job records are fetched at once. ``dry_run`` lists and plans
    without writing anything.
    """

    concurrency: int = 8
    per_host: int = 8
    detail_concurrency: int = 4
    dry_run: bool = False

    def __post_init__(self) -> None:
        for name in ("concurrency", "per_host", "detail_concurrency"):
            if getattr(self, name) < 1:
                raise ConfigurationError(f"{name} must be >= 1")


Reporter = Callable[[Progress], Coroutine[Any, Any, None]]


def _write_record(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data)


def _complete_on_disk(root: Path, file: PlannedFile, manifest: Manifest) -> bool:
    entry = manifest.completed(file.path)
    if entry is None or entry.url != file.url:
        return False
    try:
        size = (root / file.path).stat().st_size
    except OSError:
        return False
    if entry.size is not None and size != entry.size:
        return False
    if file.size is not None and size != file.size:
        return False
    return not (file.etag and entry.etag and file.etag != entry.etag)


class _Run:
    def __init__(self, source: ArchiveSource, root: Path, options: ArchiveOptions) -> None:
        self.source = source
        self.root = root
        self.options = options
        self.progress = Progress()
        self.manifest = Manifest(root)
        self.index_rows: list[dict[str, str]] = []
        self.fatal: BaseException | None = None
        self._hosts: dict[str, anyio.CapacityLimiter] = {}

    def _host_limiter(self, url: str) -> anyio.CapacityLimiter:
        host = urlsplit(url).netloc
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

    async def list_jobs(self, send: MemoryObjectSendStream[str]) -> None:
        async with send:
            async for job_id in self.source.job_ids():
                self.progress.jobs += 1
                await send.send(job_id)
        self.progress.listing_done = True

    async def plan_jobs(
        self, receive: MemoryObjectReceiveStream[str], send: MemoryObjectSendStream[PlannedFile]
    ) -> None:
        async with receive, send:
            async for job_id in receive:
                try:
                    plan = await self.source.plan(job_id)
                except HoverBentleyError as exc:
                    self.progress.job_failures.append(JobFailure(job_id=job_id, error=str(exc)))
                    continue
                await self._record_job(plan)
                for file in plan.files:
                    await self._offer(file, send)
                self.progress.jobs_planned += 1

    async def _record_job(self, plan: JobPlan) -> None:
        self.progress.skipped_parts.extend(plan.skipped)
        if self.options.dry_run:
            return
        record_path = f"{plan.directory}/job.json"
        digest = hashlib.sha256(plan.record).hexdigest()
        previous = self.manifest.completed(record_path)
        try:
            await anyio.to_thread.run_sync(_write_record, self.root / record_path, plan.record)
        except OSError as exc:
            raise _write_error(exc, record_path) from None
        if previous is None or previous.sha256 != digest:
            self.manifest.append(
                ManifestEntry(
                    path=record_path,
                    url=plan.record_url,
                    size=len(plan.record),
                    sha256=digest,
                    job_id=plan.job_id,
                    kind="job",
                    format="json",
                    status="ok",
                    completed_at=time.time(),
                )
            )
        self.index_rows.append(
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
        if self.options.dry_run:
            return
        if _complete_on_disk(self.root, file, self.manifest):
            p.skipped += 1
            return
        await send.send(file)

    async def download(self, receive: MemoryObjectReceiveStream[PlannedFile]) -> None:
        async with receive:
            async for file in receive:
                await self._download_one(file)

    async def _download_one(self, file: PlannedFile) -> None:
        p = self.progress
        dest = self.root / file.path
        async with self._host_limiter(file.url):
            try:
                result = await self.source.fetch(file, dest)
            except HoverBentleyError as exc:
                p.failed += 1
                error = str(exc)
                p.failures.append(
                    FileFailure(path=file.path, url=redact_url(file.url), error=error)
                )
                self.manifest.append(_entry(file, status="failed", error=error))
                return
            except OSError as exc:
                raise _write_error(exc, file.path) from None
        p.downloaded += 1
        p.bytes += result.received
        self.manifest.append(
            _entry(file, status="ok", size=result.size, sha256=result.sha256, etag=result.etag)
        )


def _entry(file: PlannedFile, *, status: str, **fields: Any) -> ManifestEntry:
    return ManifestEntry(
        path=file.path,
        url=file.url,
        job_id=file.job_id,
        part_id=file.part_id,
        kind=file.kind,
        format=file.format,
        key=file.key,
        status=status,
        completed_at=time.time(),
        **fields,
    )


def _write_error(exc: OSError, path: str) -> ArchiveWriteError:
    if exc.errno == errno.ENOSPC:
        return ArchiveWriteError(
            f"no space left on the device while writing {path}: free some space and run the"
            " same command again to finish (completed files are kept)"
        )
    return ArchiveWriteError(f"cannot write {path}: {exc.strerror or exc}")


async def archive(
    source: ArchiveSource,
    out: str | os.PathLike[str],
    options: ArchiveOptions | None = None,
    *,
    reporter: Reporter | None = None,
) -> ArchiveSummary:
    """Archive every job ``source`` lists into ``out``; return what was done.

    Files already complete (by manifest and size) are skipped; failures are recorded per file
    and the run goes on. A local write failure (disk full) stops the run with
    :class:`ArchiveWriteError`; completed files are kept and a rerun finishes the work.
    """
    options = options or ArchiveOptions()
    root = Path(out)
    run = _Run(source, root, options)
    if not options.dry_run:
        try:
            await anyio.to_thread.run_sync(lambda: root.mkdir(parents=True, exist_ok=True))
        except OSError as exc:
            raise _write_error(exc, str(root)) from None
        await anyio.to_thread.run_sync(run.manifest.load)
    jobs_send, jobs_receive = anyio.create_memory_object_stream[str](options.detail_concurrency * 2)
    files_send, files_receive = anyio.create_memory_object_stream[PlannedFile](
        options.concurrency * 4
    )
    try:
        async with anyio.create_task_group() as outer:
            if reporter is not None:
                outer.start_soon(reporter, run.progress)
            async with anyio.create_task_group() as group:
                group.start_soon(run._guard, group, run.list_jobs, jobs_send)
                with jobs_receive, files_send:
                    for _ in range(options.detail_concurrency):
                        group.start_soon(
                            run._guard,
                            group,
                            run.plan_jobs,
                            jobs_receive.clone(),
                            files_send.clone(),
                        )
                with files_receive:
                    for _ in range(options.concurrency):
                        group.start_soon(run._guard, group, run.download, files_receive.clone())
            outer.cancel_scope.cancel()
    finally:
        with anyio.CancelScope(shield=True):
            run.manifest.close()
            if run.index_rows:
                try:
                    await anyio.to_thread.run_sync(update_index, root, run.index_rows)
                except OSError as exc:
                    # The manifest already holds every completed file; the index is rebuilt
                    # by the next run.
                    run.fatal = run.fatal or _write_error(exc, INDEX_NAME)
    if run.fatal is not None:
        raise run.fatal
    return run.progress.summary(str(root), dry_run=options.dry_run)
