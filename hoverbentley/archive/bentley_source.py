"""Bentley Reality Modeling as an archive source: the jobs a ``$filter`` selects."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

from ..bentley.client import RealityModelingClient
from ..bentley.filters import FilterLike
from ..download import DownloadResult, download_file
from .plan import JobPlan, PlannedFile


class BentleySource:
    """Archive each job's record (``job.json``) for the jobs ``filter`` selects."""

    provider = "bentley"

    def __init__(
        self, client: RealityModelingClient, filter: FilterLike, *, top: int | None = None
    ) -> None:
        self.client = client
        self._filter = filter
        self._top = top

    async def job_ids(self) -> AsyncIterator[str]:
        async for job in self.client.iter_jobs(self._filter, top=self._top):
            yield job.id

    async def plan(self, job_id: str) -> JobPlan:
        job, raw = await self.client.get_job_raw(job_id)
        settings = job.job_settings
        outputs = ", ".join(o.format for o in (settings.outputs or [] if settings else []))
        return JobPlan(
            provider=self.provider,
            job_id=job.id,
            record=raw,
            record_url=self.client.transport.api_url(f"/jobs/{job.id}"),
            files=[],
            index={
                "name": job.name or "",
                "address": f"iTwin {job.i_twin_id}" if job.i_twin_id else "",
                "state": job.state or "",
                "updated_at": job.last_modified_date_time or "",
                "outputs": outputs,
            },
        )

    async def fetch(self, file: PlannedFile, dest: str | os.PathLike[str]) -> DownloadResult:
        return await download_file(
            self.client.transport, file.url, dest, authenticated=file.authenticated
        )
