"""Async clients of Reality Modeling v2 and Reality Analysis v2 (one template, two APIs).

Creating a job also starts it; ``DELETE`` cancels (a job close to its end refuses with
:class:`CancellationRefused`). Outputs are reality data ids (downloaded through Reality
Management) or ``bkt:`` paths in the iTwin's bucket (:meth:`V2JobsApi.get_bucket`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, ClassVar, Literal

import msgspec

from .._client.base import Raw
from ..errors import ConfigurationError, DecodeError, UnprocessableEntityError
from . import v2_models as m
from .defaults import ANALYSIS_V2_URL, MODELING_V2_URL
from .filters import Grammar
from .listing import JobsListing, id_segment
from .polling import POLL_BACKOFF, poll_progress
from .v2_specs import check_creation

_JOB = msgspec.json.Decoder(m.JobResponse)
_JOBS = msgspec.json.Decoder(m.JobsPage)
_PROGRESS = msgspec.json.Decoder(m.ProgressResponse)
_MESSAGES = msgspec.json.Decoder(m.MessagesResponse)
_BUCKET = msgspec.json.Decoder(m.BucketResponse)
_FILES = msgspec.json.Decoder(m.FilesResponse)
_DETECTORS = msgspec.json.Decoder(m.DetectorsResponse)
_DETECTOR = msgspec.json.Decoder(m.DetectorResponse)


class CancellationRefused(UnprocessableEntityError):
    """The job is about to complete: the service no longer allows cancelling it.

    The service answers 422 with the detail code ``InvalidChange``.
    """


class V2JobsApi(JobsListing[m.JobsPage, m.Job]):
    """What Reality Modeling v2 and Reality Analysis v2 share: jobs, progress, bucket, files.

    Takes the credentials of :class:`~hoverbentley.bentley.RealityModelingClient`; sends the
    v2 ``Accept`` header. Use as ``async with Client(...) as c:``.
    """

    grammar: ClassVar[Grammar] = "v2"
    service: ClassVar[Literal["modeling", "analysis"]] = "modeling"

    default_accept: ClassVar[str] = m.ACCEPT_V2

    async def _page(self, url: str) -> m.JobsPage:
        return await self._call(_JOBS, "GET", url)

    def _jobs(self, page: m.JobsPage) -> list[m.Job]:
        return page.jobs

    async def create_job(self, job: m.JobCreation | Mapping[str, Any]) -> m.Job:
        """``POST /jobs``: create and start a job (its specifications checked first, locally)."""
        creation = job if isinstance(job, m.JobCreation) else _creation(job)
        check_creation(creation.type, creation.specifications, api=self.service, name=creation.name)
        return (await self._call(_JOB, "POST", "/jobs", creation)).job

    async def get_job(self, job_id: str) -> m.Job:
        """``GET /jobs/{id}``."""
        return (await self.get_job_record(job_id)).value

    async def get_job_record(self, job_id: str) -> Raw[m.Job]:
        """The job, the exact JSON body it came in, and the URL that served it."""
        raw = await self._call_raw(_JOB, "GET", f"/jobs/{id_segment(job_id)}")
        return Raw(raw.value.job, raw.raw, raw.url)

    async def cancel_job(self, job_id: str) -> m.Job:
        """``DELETE /jobs/{id}``: the job, now ``TerminatingOnCancel``."""
        try:
            return (await self._call(_JOB, "DELETE", f"/jobs/{id_segment(job_id)}")).job
        except UnprocessableEntityError as exc:
            if any(d.code == "InvalidChange" for d in exc.details):
                raise CancellationRefused(
                    exc.status_code,
                    url=exc.url or "",
                    code=exc.code,
                    message=exc.api_message,
                    details=exc.details,
                    method="DELETE",
                ) from None
            raise

    async def get_progress(self, job_id: str) -> m.Progress:
        """``GET /jobs/{id}/progress``."""
        path = f"/jobs/{id_segment(job_id)}/progress"
        return (await self._call(_PROGRESS, "GET", path)).progress

    async def get_messages(self, job_id: str) -> m.Messages:
        """``GET /jobs/{id}/messages``: the job's errors and warnings."""
        path = f"/jobs/{id_segment(job_id)}/messages"
        return (await self._call(_MESSAGES, "GET", path)).messages

    async def wait_for_completion(
        self,
        job_id: str,
        *,
        max_wait: float | None = None,
        intervals: Sequence[float] = POLL_BACKOFF,
        on_progress: Callable[[m.Progress], Awaitable[None] | None] | None = None,
    ) -> m.Job:
        """Poll progress until the job is Success, Failed or Cancelled; return the final job.

        Polls back off through ``intervals`` (15, 30, 60, 120 s, as the service asks) and
        start again from the first when the percentage changes. Raises
        :class:`~hoverbentley.errors.APITimeoutError` after ``max_wait`` seconds.
        """
        await poll_progress(
            lambda: self.get_progress(job_id),
            percentage=lambda p: p.percentage,
            finished=lambda p: p.state in m.FINAL_STATES,
            describe=lambda p: f"{p.percentage:g}% {p.state}",
            name=f"job {job_id}",
            url=f"{self.base_url}/jobs/{job_id}/progress",
            max_wait=max_wait,
            intervals=intervals,
            on_progress=on_progress,
        )
        return await self.get_job(job_id)

    async def get_bucket(self, itwin_id: str) -> str:
        """The container SAS URL of the iTwin's bucket (where ``bkt:`` inputs and outputs live)."""
        path = f"/itwins/{id_segment(itwin_id)}/bucket"
        response = await self._call_raw(_BUCKET, "GET", path)
        url = response.value.container_url
        if not url:
            raise DecodeError("bucket answered without _links.containerUrl.href", url=response.url)
        return url

    async def list_files(self) -> list[m.File]:
        """``GET /files``: the presets the service provides."""
        return (await self._call(_FILES, "GET", "/files")).files


class RealityModelingV2Client(V2JobsApi):
    """Reality Modeling v2 (``/reality-modeling``): the eleven modeling job types."""

    default_base_url: ClassVar[str | None] = MODELING_V2_URL


class RealityAnalysisClient(V2JobsApi):
    """Reality Analysis v2 (``/reality-analysis``): analysis jobs and the detectors they use."""

    service: ClassVar[Literal["modeling", "analysis"]] = "analysis"

    default_base_url: ClassVar[str | None] = ANALYSIS_V2_URL

    async def list_detectors(self) -> list[m.Detector]:
        """``GET /detectors``."""
        return (await self._call(_DETECTORS, "GET", "/detectors")).detectors

    async def get_detector(self, name: str) -> m.Detector:
        """``GET /detectors/{name}`` with its versions."""
        return (await self._call(_DETECTOR, "GET", f"/detectors/{id_segment(name)}")).detector


def _creation(job: Mapping[str, Any]) -> m.JobCreation:
    try:
        return msgspec.convert(job, m.JobCreation)
    except msgspec.ValidationError as exc:
        raise ConfigurationError(f"not a job to create: {exc}") from None
