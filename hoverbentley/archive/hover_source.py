"""Hover as an archive source: jobs from the job list or from ids, files from each payload."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime

from .._core.closing import closing_iterator
from .._http.health import HostHealth
from .._http.transfer import Writer, transfer
from ..download import DownloadResult
from ..hover.client import HoverClient
from ..hover.models import Address
from ..hover.select import selected
from .plan import JobPlan, PlannedFile, SkippedItem, job_directory


def _address(address: Address | None) -> str:
    if address is None:
        return ""
    parts = [
        address.location_line_1,
        address.location_line_2,
        address.city,
        address.region,
        address.postal_code,
        address.country,
    ]
    return ", ".join(p for p in parts if p)


class HoverSource:
    """Archive the jobs given by id, or every listed job (optionally since a date, archived too).

    ``include`` and ``exclude`` (from :func:`~hoverbentley.hover.select.parse_include` and
    :func:`~hoverbentley.hover.select.parse_exclude`) choose the files of each job.
    """

    provider = "hover"

    def __init__(
        self,
        client: HoverClient,
        *,
        job_ids: Sequence[int] | None = None,
        updated_since: datetime | float | None = None,
        archived: bool = False,
        include: frozenset[str] | None = None,
        exclude: frozenset[str] | None = None,
    ) -> None:
        self.client = client
        self._ids = list(job_ids) if job_ids is not None else None
        self._since = updated_since
        self._archived = archived
        self._include = include
        self._exclude = exclude

    async def job_ids(self) -> AsyncIterator[str]:
        if self._ids is not None:
            for job_id in self._ids:
                yield str(job_id)
            return
        jobs = self.client.iter_jobs(
            updated_since=self._since, archived=True if self._archived else None
        )
        async with closing_iterator(jobs):
            async for summary in jobs:
                yield str(summary.id)

    def hosts(self) -> list[HostHealth]:
        return [self.client.transport.health]

    async def plan(self, job_id: str) -> JobPlan:
        record = await self.client.get_job_record(int(job_id))
        job = record.job
        listing = record.files()
        directory = job_directory(self.provider, str(job.id))
        files = [
            PlannedFile(
                url=f.url,
                path=f"{directory}/{f.relpath}",
                job_id=str(job.id),
                part_id=str(f.model_id),
                kind=f.kind,
                format=f.format,
                key=f.key,
            )
            for f in listing.files
            if selected(
                self._include, kind=f.kind, format=f.format, key=f.key, exclude=self._exclude
            )
        ]
        skipped = [
            SkippedItem(str(s.job_id), str(s.model_id), s.state, s.failure_reason, kind="model")
            for s in listing.skipped
        ]
        index = {
            "name": job.name or "",
            "address": _address(job.address),
            "state": job.reconstruction_state or "",
            "updated_at": job.updated_at or "",
        }
        return JobPlan(
            provider=self.provider,
            job_id=str(job.id),
            record=record.raw,
            record_url=self.client.url_for(f"/api/v3/jobs/{job.id}"),
            files=files,
            skipped=skipped,
            index=index,
        )

    async def fetch(self, file: PlannedFile, writer: Writer) -> DownloadResult:
        # Hover's redirect to file storage is followed without the bearer token (the transport).
        return await transfer(self.client.transport, file.url, writer, md5=file.md5)
