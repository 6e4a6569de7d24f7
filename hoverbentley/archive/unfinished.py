"""The oldest job a run saw unfinished: where the next ``--since last`` of Bentley must start.

Bentley's filter knows when a job was created, not when it changed; a job still running at one
run finishes later with new outputs, so the next run must list it again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import msgspec

from .._core.times import parse_iso
from .._http.health import HostHealth
from .._http.transfer import DownloadResult, Writer
from .plan import ArchiveSource, JobPlan, PlannedFile

#: States after which a job's record and outputs no longer change (v1 lower case, v2 capitalised).
FINAL = frozenset({"success", "failed", "cancelled"})


class WatchUnfinished:
    """An :class:`ArchiveSource` that notes the creation time of every unfinished job.

    Wrap a Bentley source in it; after the run, :attr:`oldest` is where the next incremental
    run must start listing (``None``: every job it saw was final).
    """

    def __init__(self, source: ArchiveSource) -> None:
        self.source = source
        self.provider = source.provider
        self.oldest: datetime | None = None

    def job_ids(self) -> AsyncIterator[str]:
        return self.source.job_ids()

    async def plan(self, job_id: str) -> JobPlan:
        plan = await self.source.plan(job_id)
        if str(plan.index.get("state", "")).lower() not in FINAL:
            created = _created(plan.record)
            if created is not None and (self.oldest is None or created < self.oldest):
                self.oldest = created
        return plan

    async def fetch(self, file: PlannedFile, writer: Writer) -> DownloadResult:
        return await self.source.fetch(file, writer)

    def hosts(self) -> list[HostHealth]:
        return self.source.hosts()


def _created(record: bytes) -> datetime | None:
    try:
        body = msgspec.json.decode(record)
    except msgspec.DecodeError:
        return None
    job = body.get("job", body) if isinstance(body, dict) else None
    if not isinstance(job, dict):
        return None
    info = job.get("executionInfo")  # v2 keeps it there; v1 at the top
    value = job.get("createdDateTime") or (
        info.get("createdDateTime") if isinstance(info, dict) else None
    )
    return parse_iso(value) if isinstance(value, str) else None
