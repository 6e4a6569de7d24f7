"""What the archive asks of a provider: jobs, and the files each job offers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import msgspec

from .._core.names import safe_segment
from .._http.health import HostHealth
from .._http.transfer import DownloadResult, Writer


def job_directory(provider: str, job_id: str) -> str:
    """The directory of a job relative to OUT (``hover/123``): its record and its files."""
    return f"{provider}/{safe_segment(job_id)}"


@dataclass(frozen=True)
class PlannedFile:
    """One file to fetch: where from, where to (relative to OUT), and what is known of it.

    ``part_id`` is the part of the job the file belongs to: a Hover model, a Bentley output.
    ``path`` is the file's identity: a rerun finds it complete by its path, whatever host
    ``url`` names. ``size`` and ``etag`` are filled in when the provider's listing tells them,
    and let a rerun skip a file without asking the server.
    """

    url: str
    path: str
    job_id: str
    part_id: str | None
    kind: str
    format: str
    key: str
    size: int | None = None
    etag: str | None = None
    md5: str | None = None


class SkippedItem(msgspec.Struct):
    """A part of a job left out because it is not complete (not a failure).

    ``kind`` says what the part is (``"model"`` for Hover, ``"output"`` for Bentley).
    """

    job_id: str
    part_id: str
    state: str | None = None
    reason: str | None = None
    kind: str = "part"


@dataclass
class JobPlan:
    """A job's record and its files, as one provider describes them."""

    provider: str
    job_id: str
    record: bytes
    record_url: str
    files: list[PlannedFile]
    skipped: list[SkippedItem] = field(default_factory=list)
    index: Mapping[str, str] = field(default_factory=dict)

    @property
    def directory(self) -> str:
        """The job's directory relative to OUT."""
        return job_directory(self.provider, self.job_id)


class ArchiveSource(Protocol):
    """A provider as the archive sees it."""

    provider: str

    def job_ids(self) -> AsyncIterator[str]:
        """The ids of the jobs to archive, as they are listed."""
        ...

    async def plan(self, job_id: str) -> JobPlan:
        """Fetch a job and list its files (already filtered by the caller's selection).

        Called again for a job whose files failed, before a later pass: it must return fresh
        URLs (new signatures) for the same paths.
        """
        ...

    async def fetch(self, file: PlannedFile, writer: Writer) -> DownloadResult:
        """Stream ``file`` into ``writer`` with :func:`~hoverbentley._http.transfer.transfer`
        (complete and verified, or raise).

        The destination chose the writer: a ``.part`` file renamed into place
        (:class:`~hoverbentley._http.part_file.PartFile`), or an upload
        (:class:`~hoverbentley._http.sink.SinkWriter`); its digest takes the MD5 when
        ``file.md5`` is set. Works from ``file`` alone: it need not have been planned by this
        object.
        """
        ...

    def hosts(self) -> list[HostHealth]:
        """The health of the hosts this source talks to, for outage display (optional)."""
        ...
