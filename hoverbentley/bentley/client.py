"""Async client of Bentley iTwin Reality Modeling v1 (``/contextcapture``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, ClassVar
from urllib.parse import urlencode

import msgspec

from .._client.base import Raw
from ..errors import ConfigurationError
from . import models as m
from .defaults import MODELING_V1_URL
from .listing import JobsListing, id_segment
from .polling import POLL_BACKOFF, poll_progress

DEFAULT_BASE_URL = MODELING_V1_URL

_JOBS = msgspec.json.Decoder(m.JobsPage)
_JOB = msgspec.json.Decoder(m.JobResponse)
_PROGRESS = msgspec.json.Decoder(m.JobProgressResponse)
_WORKSPACE = msgspec.json.Decoder(m.WorkspaceResponse)
_ENGINES = msgspec.json.Decoder(m.EnginesLimitResponse)


class RealityModelingClient(JobsListing[m.JobsPage, m.Job]):
    """Jobs, progress and workspaces of Reality Modeling v1.

    Give ``token`` (a bearer token) or ``client_id`` and ``client_secret`` (client credentials
    against IMS, scope ``itwin-platform``). ``accept`` selects the API version (v1 by
    default); ``subscription_key`` is sent as ``X-Api-Subscription-Key`` where a gateway asks
    for one. Use as ``async with RealityModelingClient(...)``.
    """

    default_base_url: ClassVar[str | None] = DEFAULT_BASE_URL

    # -- jobs -------------------------------------------------------------------------------

    async def _page(self, url: str) -> m.JobsPage:
        return await self._call(_JOBS, "GET", url)

    def _jobs(self, page: m.JobsPage) -> list[m.Job]:
        return page.jobs

    async def get_job(self, job_id: str) -> m.Job:
        """``GET /jobs/{id}``."""
        return (await self._call(_JOB, "GET", f"/jobs/{id_segment(job_id)}")).job

    async def get_job_record(self, job_id: str) -> Raw[m.Job]:
        """The job, the exact JSON body it came in, and the URL that served it."""
        raw = await self._call_raw(_JOB, "GET", f"/jobs/{id_segment(job_id)}")
        return Raw(raw.value.job, raw.raw, raw.url)

    async def create_job(self, job: m.JobCreation | Mapping[str, Any]) -> m.Job:
        """``POST /jobs``: a new, unsubmitted job."""
        return (await self._call(_JOB, "POST", "/jobs", job)).job

    async def update_job(self, job_id: str, patch: m.JobPatch | Mapping[str, Any]) -> m.Job:
        """``PATCH /jobs/{id}`` with settings, type or cost-estimation parameters."""
        return (await self._call(_JOB, "PATCH", f"/jobs/{id_segment(job_id)}", patch)).job

    async def submit_job(self, job_id: str) -> m.Job:
        """Start processing an unsubmitted job (``PATCH`` state ``Active``)."""
        return await self.update_job(job_id, {"state": "Active"})

    async def cancel_job(self, job_id: str) -> m.Job:
        """Cancel a job (``PATCH`` state ``Cancelled``)."""
        return await self.update_job(job_id, {"state": "Cancelled"})

    async def delete_job(self, job_id: str) -> None:
        """``DELETE /jobs/{id}`` (only unsubmitted jobs can be deleted)."""
        await self.transport.request("DELETE", f"/jobs/{id_segment(job_id)}")

    async def get_progress(self, job_id: str) -> m.JobProgress:
        """``GET /jobs/{id}/progress``."""
        path = f"/jobs/{id_segment(job_id)}/progress"
        return (await self._call(_PROGRESS, "GET", path)).job_progress

    async def wait_for_completion(
        self,
        job_id: str,
        *,
        max_wait: float | None = None,
        intervals: Sequence[float] = POLL_BACKOFF,
        on_progress: Callable[[m.JobProgress], Awaitable[None] | None] | None = None,
    ) -> m.Job:
        """Poll progress until the job is over and return the final job.

        Polls back off through ``intervals`` (15, 30, 60, 120 s, as the service asks) and
        start again from the first when the percentage changes. Raises
        :class:`~hoverbentley.errors.APITimeoutError` after ``max_wait`` seconds.
        """

        def over(progress: m.JobProgress) -> bool:
            if progress.state == "Unsubmitted":
                raise ConfigurationError(f"job {job_id} is not submitted: submit it first")
            return progress.state == "Over"

        await poll_progress(
            lambda: self.get_progress(job_id),
            percentage=lambda p: p.percentage,
            finished=over,
            describe=lambda p: f"{p.percentage}% {p.step or ''}".rstrip(),
            name=f"job {job_id}",
            url=f"{self.base_url}/jobs/{job_id}/progress",
            max_wait=max_wait,
            intervals=intervals,
            on_progress=on_progress,
        )
        return await self.get_job(job_id)

    # -- workspaces and limits --------------------------------------------------------------

    async def create_workspace(self, name: str, itwin_id: str | None = None) -> m.Workspace:
        """``POST /workspaces``."""
        body: dict[str, str] = {"name": name}
        if itwin_id:
            body["iTwinId"] = itwin_id
        return (await self._call(_WORKSPACE, "POST", "/workspaces", body)).workspace

    async def get_workspace(self, workspace_id: str) -> m.Workspace:
        """``GET /workspaces/{id}``."""
        path = f"/workspaces/{id_segment(workspace_id)}"
        return (await self._call(_WORKSPACE, "GET", path)).workspace

    async def delete_workspace(self, workspace_id: str) -> None:
        """``DELETE /workspaces/{id}``."""
        await self.transport.request("DELETE", f"/workspaces/{id_segment(workspace_id)}")

    async def engine_limits(self, itwin_id: str) -> m.EnginesLimit:
        """``GET /limits/engines``: how many engines the iTwin may use at once."""
        path = f"/limits/engines?{urlencode({'iTwinId': itwin_id})}"
        return (await self._call(_ENGINES, "GET", path)).engines_limit
