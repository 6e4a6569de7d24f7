"""Async client of Bentley iTwin Reality Modeling v1 (``/contextcapture``)."""

from __future__ import annotations

import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

import anyio
import msgspec

from .._client.base import Raw
from .._core.decode import decode_json
from .._http.paging import prefetch_pages
from ..errors import APITimeoutError, ConfigurationError
from . import models as m
from .base import BentleyApi
from .filters import FilterLike, render_filter, validate_top

DEFAULT_BASE_URL = "https://api.bentley.com/contextcapture"
#: Seconds between progress polls, as the service asks; restarts when the percentage moves.
POLL_BACKOFF: tuple[float, ...] = (15, 30, 60, 120)
FINAL_STATES = frozenset({"success", "failed", "cancelled"})

_JOBS = msgspec.json.Decoder(m.JobsPage)
_JOB = msgspec.json.Decoder(m.JobResponse)
_PROGRESS = msgspec.json.Decoder(m.JobProgressResponse)
_WORKSPACE = msgspec.json.Decoder(m.WorkspaceResponse)
_ENGINES = msgspec.json.Decoder(m.EnginesLimitResponse)


class RealityModelingClient(BentleyApi):
    """Jobs, progress and workspaces of Reality Modeling v1.

    Give ``token`` (a bearer token) or ``client_id`` and ``client_secret`` (client credentials
    against IMS, scope ``itwin-platform``). ``accept`` selects the API version (v1 by
    default); ``subscription_key`` is sent as ``X-Api-Subscription-Key`` where a gateway asks
    for one. Use as ``async with RealityModelingClient(...)``.
    """

    def __init__(self, *, base_url: str = DEFAULT_BASE_URL, **options: Any) -> None:
        super().__init__(base_url=base_url, **options)

    # -- jobs -------------------------------------------------------------------------------

    def jobs_url(
        self, filter: FilterLike, *, top: int | None = None, continuation: str | None = None
    ) -> str:
        """The URL of one ``GET /jobs`` page (checks ``$top`` before any request)."""
        validate_top(top)
        text = render_filter(filter)
        if not text:
            raise ConfigurationError("listing jobs needs a $filter (for example iTwinId eq ...)")
        params = {"$filter": text}
        if top is not None:
            params["$top"] = str(top)
        if continuation is not None:
            params["continuationToken"] = continuation
        return f"{self.base_url}/jobs?{urlencode(params, quote_via=quote, safe='$')}"

    async def list_jobs(
        self, filter: FilterLike, *, top: int | None = None, continuation: str | None = None
    ) -> m.JobsPage:
        """One page of jobs matching ``filter``.

        ``continuation`` is the token of a page's next link, or the whole next-link URL.
        """
        if continuation is not None and continuation.startswith(("http://", "https://")):
            validate_top(top)
            return await self.jobs_page(continuation)
        return await self.jobs_page(self.jobs_url(filter, top=top, continuation=continuation))

    async def jobs_page(self, url: str) -> m.JobsPage:
        """The page at ``url`` (a next link, requested exactly as the service returned it)."""
        response = await self.transport.request("GET", url)
        return decode_json(_JOBS, response.body, response.url)

    async def iter_jobs(
        self, filter: FilterLike, *, top: int | None = None
    ) -> AsyncIterator[m.Job]:
        """Every job matching ``filter``, following next links; the next page is prefetched."""
        first = self.jobs_url(filter, top=top)
        pages = prefetch_pages(self.jobs_page, first, lambda page, _url: page.next_link)
        async for page in pages:
            for job in page.jobs:
                yield job

    async def get_job(self, job_id: str) -> m.Job:
        """``GET /jobs/{id}``."""
        return (await self._call(_JOB, "GET", f"/jobs/{_segment(job_id)}")).job

    async def get_job_record(self, job_id: str) -> Raw[m.Job]:
        """The job, the exact JSON body it came in, and the URL that served it."""
        raw = await self._call_raw(_JOB, "GET", f"/jobs/{_segment(job_id)}")
        return Raw(raw.value.job, raw.raw, raw.url)

    async def get_job_raw(self, job_id: str) -> tuple[m.Job, bytes]:
        """The job and the exact JSON body it came in (deprecated: use :meth:`get_job_record`)."""
        warnings.warn(
            "get_job_raw is deprecated; use get_job_record", DeprecationWarning, stacklevel=2
        )
        record = await self.get_job_record(job_id)
        return record.value, record.raw

    async def create_job(self, job: m.JobCreation | Mapping[str, Any]) -> m.Job:
        """``POST /jobs``: a new, unsubmitted job."""
        return (await self._call(_JOB, "POST", "/jobs", job)).job

    async def update_job(self, job_id: str, patch: m.JobPatch | Mapping[str, Any]) -> m.Job:
        """``PATCH /jobs/{id}`` with settings, type or cost-estimation parameters."""
        return (await self._call(_JOB, "PATCH", f"/jobs/{_segment(job_id)}", patch)).job

    async def submit_job(self, job_id: str) -> m.Job:
        """Start processing an unsubmitted job (``PATCH`` state ``Active``)."""
        return await self.update_job(job_id, {"state": "Active"})

    async def cancel_job(self, job_id: str) -> m.Job:
        """Cancel a job (``PATCH`` state ``Cancelled``)."""
        return await self.update_job(job_id, {"state": "Cancelled"})

    async def delete_job(self, job_id: str) -> None:
        """``DELETE /jobs/{id}`` (only unsubmitted jobs can be deleted)."""
        await self.transport.request("DELETE", f"/jobs/{_segment(job_id)}")

    async def get_progress(self, job_id: str) -> m.JobProgress:
        """``GET /jobs/{id}/progress``."""
        path = f"/jobs/{_segment(job_id)}/progress"
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
        if not intervals or any(i < 0 for i in intervals):
            raise ConfigurationError("intervals must be a non-empty list of seconds >= 0")
        deadline = None if max_wait is None else time.monotonic() + max_wait
        step, last = 0, None
        while True:
            progress = await self.get_progress(job_id)
            if on_progress is not None:
                result = on_progress(progress)
                if result is not None:
                    await result
            if progress.state == "Over":
                return await self.get_job(job_id)
            if progress.state == "Unsubmitted":
                raise ConfigurationError(f"job {job_id} is not submitted: submit it first")
            if progress.percentage != last:
                step, last = 0, progress.percentage
            delay = intervals[min(step, len(intervals) - 1)]
            step += 1
            if deadline is not None and time.monotonic() + delay > deadline:
                raise APITimeoutError(
                    f"job {job_id} still running after {max_wait} s"
                    f" ({progress.percentage}% {progress.step or ''})".rstrip(),
                    url=f"{self.base_url}/jobs/{job_id}/progress",
                )
            await anyio.sleep(delay)

    # -- workspaces and limits --------------------------------------------------------------

    async def create_workspace(self, name: str, itwin_id: str | None = None) -> m.Workspace:
        """``POST /workspaces``."""
        body: dict[str, str] = {"name": name}
        if itwin_id:
            body["iTwinId"] = itwin_id
        return (await self._call(_WORKSPACE, "POST", "/workspaces", body)).workspace

    async def get_workspace(self, workspace_id: str) -> m.Workspace:
        """``GET /workspaces/{id}``."""
        path = f"/workspaces/{_segment(workspace_id)}"
        return (await self._call(_WORKSPACE, "GET", path)).workspace

    async def delete_workspace(self, workspace_id: str) -> None:
        """``DELETE /workspaces/{id}``."""
        await self.transport.request("DELETE", f"/workspaces/{_segment(workspace_id)}")

    async def engine_limits(self, itwin_id: str) -> m.EnginesLimit:
        """``GET /limits/engines``: how many engines the iTwin may use at once."""
        path = f"/limits/engines?{urlencode({'iTwinId': itwin_id})}"
        return (await self._call(_ENGINES, "GET", path)).engines_limit


def _segment(value: str) -> str:
    text = str(value).strip()
    if not text:
        raise ConfigurationError("an id must not be empty")
    return quote(text, safe="")
