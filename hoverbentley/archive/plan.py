"""What the archive asks of a provider: jobs, and the files each job offers."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ..download import DownloadResult


@dataclass(frozen=True)
class PlannedFile:
    """One file to fetch: where from, where to (relative to OUT), and what is known of it.

    ``authenticated`` says whether the provider's API credentials apply to ``url`` (Hover's
    artifact URLs) or not (a pre-signed storage URL). ``size`` and ``etag`` are filled in when the
    provider's listing tells them, and let a rerun skip a file without asking the server.
    """

    url: str
    path: str
    job_id: str
    model_id: str | None
    kind: str
    format: str
    key: str
    authenticated: bool = True
    size: int | None = None
    etag: str | None = None
    md5: str | None = None


@dataclass(frozen=True)
class SkippedPart:
    """A part of a job (a model, an output) left out because it is not complete."""

    job_id: str
    part_id: str
    state: str | None
    reason: str | None = None


@dataclass
class JobPlan:
    """A job's record and its files, as one provider describes them."""

    provider: str
    job_id: str
    record: bytes
    record_url: str
    files: list[PlannedFile]
    skipped: list[SkippedPart] = field(default_factory=list)
    index: Mapping[str, str] = field(default_factory=dict)


class ArchiveSource(Protocol):
    """A provider as the archive sees it."""

    provider: str

    def job_ids(self) -> AsyncIterator[str]:
        """The ids of the jobs to archive, as they are listed."""
        ...

    async def plan(self, job_id: str) -> JobPlan:
        """Fetch a job and list its files (already filtered by the caller's selection)."""
        ...

    async def fetch(self, file: PlannedFile, dest: str | os.PathLike[str]) -> DownloadResult:
        """Download ``file`` to ``dest`` (complete, verified and renamed, or raise)."""
        ...


def job_dir(provider: str, job_id: str) -> Path:
    """The directory of a job, relative to OUT."""
    return Path(provider) / job_id
