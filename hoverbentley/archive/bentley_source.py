"""Bentley Reality Modeling as an archive source: job records and every output file."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

from .._core.names import safe_segment
from ..bentley.client import RealityModelingClient
from ..bentley.filters import FilterLike
from ..bentley.models import Job
from ..bentley.reality import RealityManagementClient
from ..bentley.storage import SasContainer, download_blob, list_blobs
from ..download import DownloadResult
from .plan import JobPlan, PlannedFile, SkippedItem, job_directory


def _quoted(etag: str | None) -> str | None:
    return f'"{etag.strip(chr(34))}"' if etag else None


PROVIDER = "bentley"


def blob_path(job_id: str, output_id: str, name: str) -> str:
    """Where blob ``name`` of an output goes, relative to OUT (ids and sanitised segments)."""
    segments = [safe_segment(s) for s in name.split("/") if s] or ["_"]
    return "/".join(
        [job_directory(PROVIDER, job_id), "outputs", safe_segment(output_id), *segments]
    )


class BentleySource:
    """Archive each selected job's record (``job.json``) and, with ``reality``, its outputs.

    ``outputs`` limits the output formats (``{"Cesium 3D Tiles", "OBJ"}``, compared without
    case); ``None`` takes every format. Outputs not produced yet are listed as skipped.
    """

    provider = PROVIDER

    def __init__(
        self,
        client: RealityModelingClient,
        filter: FilterLike,
        *,
        top: int | None = None,
        reality: RealityManagementClient | None = None,
        outputs: frozenset[str] | None = None,
    ) -> None:
        self.client = client
        self.reality = reality
        self._filter = filter
        self._top = top
        self._formats = {f.casefold() for f in outputs} if outputs is not None else None
        self._containers: dict[str, SasContainer] = {}

    async def job_ids(self) -> AsyncIterator[str]:
        async for job in self.client.iter_jobs(self._filter, top=self._top):
            yield job.id

    def _reality(self) -> RealityManagementClient:
        assert self.reality is not None, "outputs need a RealityManagementClient"
        return self.reality

    def _container(self, output_id: str, itwin_id: str | None = None) -> SasContainer:
        """The output's container, shared by its listing and downloads (one SAS to renew)."""
        container = self._containers.get(output_id)
        if container is None:
            container = self._reality().container(output_id, itwin_id)
            self._containers[output_id] = container
        return container

    async def _output_files(
        self, job: Job, files: list[PlannedFile], skipped: list[SkippedItem]
    ) -> None:
        for output in job.outputs:
            if self._formats is not None and output.format.casefold() not in self._formats:
                continue
            if job.state != "success" or not output.id:
                state = job.state if job.state != "success" else "not produced"
                skipped.append(SkippedItem(job.id, output.format, state, kind="output"))
                continue
            container = self._container(output.id, job.i_twin_id)
            async for blob in list_blobs(self._reality().transport, container):
                files.append(
                    PlannedFile(
                        url=f"{container.base}/{blob.name}",
                        path=blob_path(job.id, output.id, blob.name),
                        job_id=job.id,
                        part_id=output.id,
                        kind="output",
                        format=output.format,
                        key=blob.name,
                        size=blob.size,
                        etag=_quoted(blob.etag),
                        md5=blob.content_md5,
                    )
                )

    async def plan(self, job_id: str) -> JobPlan:
        record = await self.client.get_job_record(job_id)
        job, raw = record.value, record.raw
        files: list[PlannedFile] = []
        skipped: list[SkippedItem] = []
        if self.reality is not None:
            await self._output_files(job, files, skipped)
        formats = ", ".join(o.format for o in job.outputs)
        return JobPlan(
            provider=self.provider,
            job_id=job.id,
            record=raw,
            record_url=self.client.url_for(f"/jobs/{job.id}"),
            files=files,
            skipped=skipped,
            index={
                "name": job.name or "",
                "address": f"iTwin {job.i_twin_id}" if job.i_twin_id else "",
                "state": job.state or "",
                "updated_at": job.last_modified_date_time or "",
                "outputs": formats,
            },
        )

    async def fetch(self, file: PlannedFile, dest: str | os.PathLike[str]) -> DownloadResult:
        if not file.part_id:
            raise ValueError(f"{file.path}: a Bentley output file names its output (part_id)")
        container = self._container(file.part_id)
        return await download_blob(
            self._reality().transport, container, file.key, dest, md5=file.md5
        )
