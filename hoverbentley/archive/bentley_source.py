"""Bentley Reality Modeling (v1 or v2) as an archive source: job records and every output file."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass

from .._core.closing import closing_iterator
from .._core.names import safe_segment
from .._http.health import HostHealth
from .._http.transfer import Writer
from ..bentley import v2_models
from ..bentley.azure import blob_url
from ..bentley.client import RealityModelingClient
from ..bentley.filters import FilterLike
from ..bentley.models import Job
from ..bentley.reality import RealityManagementClient
from ..bentley.storage import SasContainer, blob_into, list_blobs
from ..bentley.v2 import V2JobsApi
from ..download import DownloadResult
from .plan import JobPlan, PlannedFile, SkippedItem, job_directory


def _quoted(etag: str | None) -> str | None:
    return f'"{etag.strip(chr(34))}"' if etag else None


PROVIDER = "bentley"
#: Outputs written into the iTwin's bucket instead of a reality data (v2).
BUCKET_PREFIX = "bkt:"


@dataclass(frozen=True)
class _Output:
    label: str  # v1: the format; v2: the output's name (``exports/3DTiles`` for an export)
    location: str | None  # a reality data id, ``bkt:<path>``, or None while not produced


@dataclass(frozen=True)
class _JobView:
    """What the archive needs of a job, whichever API version it came from."""

    id: str
    itwin_id: str | None
    name: str | None
    state: str
    succeeded: bool
    updated_at: str | None
    outputs: list[_Output]

    @classmethod
    def of(cls, job: Job | v2_models.Job) -> _JobView:
        if isinstance(job, Job):
            return cls(
                job.id,
                job.i_twin_id,
                job.name,
                job.state or "",
                job.state == "success",
                job.last_modified_date_time,
                [_Output(o.format, o.id) for o in job.outputs],
            )
        info = job.execution_info
        updated = (info.ended_date_time or info.created_date_time) if info else None
        outputs = [_Output(name, location) for name, location in job.output_ids().items()]
        return cls(
            job.id, job.i_twin_id, job.name, job.state, job.state == "Success", updated, outputs
        )


def blob_path(job_id: str, output_id: str, name: str) -> str:
    """Where blob ``name`` of an output goes, relative to OUT (ids and sanitised segments)."""
    segments = [safe_segment(s) for s in name.split("/") if s] or ["_"]
    return "/".join(
        [job_directory(PROVIDER, job_id), "outputs", safe_segment(output_id), *segments]
    )


class BentleySource:
    """Archive each selected job's record (``job.json``) and, with ``reality``, its outputs.

    ``client`` is a v1 :class:`RealityModelingClient` or a v2 client
    (:class:`~hoverbentley.bentley.RealityModelingV2Client`). ``outputs`` limits the outputs
    by v1 format (``{"Cesium 3D Tiles", "OBJ"}``) or v2 name or export format (``{"3DTiles",
    "report"}``), compared without case; ``None`` takes every output. ``job_ids`` archives
    those jobs instead of the ones ``filter`` lists (give one or the other). Outputs not produced
    yet are listed as skipped. A v2 output in the iTwin's bucket (``bkt:<path>``) is listed
    under that path in the bucket.
    """

    provider = PROVIDER

    def __init__(
        self,
        client: RealityModelingClient | V2JobsApi,
        filter: FilterLike | None = None,
        *,
        job_ids: Sequence[str] | None = None,
        top: int | None = None,
        reality: RealityManagementClient | None = None,
        outputs: Collection[str] | None = None,
    ) -> None:
        if (filter is None) == (job_ids is None):
            raise ValueError("BentleySource archives the jobs of a filter or of job_ids: one")
        self.client = client
        self._ids = list(job_ids) if job_ids is not None else None
        self.reality = reality
        self._filter = filter
        self._top = top
        self._formats = {f.casefold(): f for f in outputs} if outputs is not None else None
        self._matched: set[str] = set()
        self._labels_seen: set[str] = set()
        self._containers: dict[str, SasContainer] = {}

    async def job_ids(self) -> AsyncIterator[str]:
        if self._ids is not None:
            for job_id in self._ids:
                yield job_id
            return
        assert self._filter is not None
        jobs = self.client.iter_jobs(self._filter, top=self._top)
        async with closing_iterator(jobs):
            async for job in jobs:
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

    def _wanted(self, label: str) -> bool:
        self._labels_seen.add(label)
        if self._formats is None:
            return True
        names = {label.casefold(), label.rsplit("/", 1)[-1].casefold()} & self._formats.keys()
        self._matched |= names
        return bool(names)

    def unmatched_outputs(self) -> tuple[list[str], list[str]]:
        """The ``outputs`` words no output of the jobs planned so far matched (most likely
        typos), and the output names those jobs had; both empty when no job had an output."""
        if self._formats is None or not self._labels_seen:
            return [], []
        unmatched = [word for key, word in self._formats.items() if key not in self._matched]
        return sorted(unmatched), sorted(self._labels_seen) if unmatched else []

    async def _bucket(self, job_id: str, itwin_id: str | None) -> SasContainer:
        """The iTwin's bucket (v2), where ``bkt:`` outputs live."""
        key = f"{BUCKET_PREFIX}{job_id}"
        container = self._containers.get(key)
        if container is None:
            client = self.client
            if not isinstance(client, V2JobsApi):
                raise ValueError("bkt: outputs come from a v2 client")
            if itwin_id is None:
                itwin_id = (await client.get_job(job_id)).i_twin_id
            itwin = itwin_id
            container = self._containers[key] = SasContainer(lambda: client.get_bucket(itwin))
        return container

    async def _output_container(
        self, location: str, job_id: str, itwin_id: str | None
    ) -> tuple[SasContainer, str]:
        """The container an output's blobs are in, and their prefix there: the same object
        (and SAS) for the listing while planning and every fetch after."""
        if location.startswith(BUCKET_PREFIX):
            prefix = location[len(BUCKET_PREFIX) :].lstrip("/")
            return await self._bucket(job_id, itwin_id), prefix
        return self._container(location, itwin_id), ""

    async def _output_files(
        self, job: _JobView, files: list[PlannedFile], skipped: list[SkippedItem]
    ) -> None:
        for output in job.outputs:
            if not self._wanted(output.label):
                continue
            if not job.succeeded or not output.location:
                state = job.state if not job.succeeded else "not produced"
                skipped.append(SkippedItem(job.id, output.label, state, kind="output"))
                continue
            location = output.location
            container, prefix = await self._output_container(location, job.id, job.itwin_id)
            async for blob in list_blobs(self._reality().transport, container, prefix):
                name = blob.name[len(prefix) :].lstrip("/") if prefix else blob.name
                files.append(
                    PlannedFile(
                        url=blob_url(container.base, blob.name),
                        path=blob_path(job.id, location, name or blob.name.rsplit("/", 1)[-1]),
                        job_id=job.id,
                        part_id=location,
                        kind="output",
                        format=output.label,
                        key=blob.name,
                        size=blob.size,
                        etag=_quoted(blob.etag),
                        md5=blob.content_md5,
                    )
                )

    def hosts(self) -> list[HostHealth]:
        clients = [self.client, self.reality] if self.reality is not None else [self.client]
        return [c.transport.health for c in clients]

    async def plan(self, job_id: str) -> JobPlan:
        record = await self.client.get_job_record(job_id)
        job, raw = _JobView.of(record.value), record.raw
        files: list[PlannedFile] = []
        skipped: list[SkippedItem] = []
        if self.reality is not None:
            await self._output_files(job, files, skipped)
        formats = ", ".join(o.label for o in job.outputs)
        return JobPlan(
            provider=self.provider,
            job_id=job.id,
            record=raw,
            record_url=self.client.url_for(f"/jobs/{job.id}"),
            files=files,
            skipped=skipped,
            index={
                "name": job.name or "",
                "address": f"iTwin {job.itwin_id}" if job.itwin_id else "",
                "state": job.state,
                "updated_at": job.updated_at or "",
                "outputs": formats,
            },
        )

    async def fetch(self, file: PlannedFile, writer: Writer) -> DownloadResult:
        if not file.part_id:
            raise ValueError(f"{file.path}: a Bentley output file names its output (part_id)")
        container, _ = await self._output_container(file.part_id, file.job_id, None)
        transport = self._reality().transport
        return await blob_into(transport, container, file.key, writer, md5=file.md5)
