"""Counters while an archive runs, and the summary it ends with."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import msgspec

from .._http.health import HostHealth
from .plan import SkippedItem


class FileFailure(msgspec.Struct, kw_only=True):
    """A file that could not be fetched after every retry."""

    path: str
    url: str
    error: str


class JobFailure(msgspec.Struct, kw_only=True):
    """A job whose record could not be fetched."""

    job_id: str
    error: str


class ArchiveSummary(msgspec.Struct, kw_only=True):
    """What a run did. ``ok`` is true when nothing failed.

    ``jobs`` counts every job the run took up, ``jobs_failed`` of them included.
    """

    out: str
    dry_run: bool
    jobs: int
    jobs_failed: int
    files: int
    downloaded: int
    skipped: int
    failed: int
    bytes: int
    planned_bytes: int | None
    elapsed: float
    bytes_per_second: float
    files_per_second: float
    formats: dict[str, int]
    skipped_parts: list[SkippedItem]
    failures: list[FileFailure]
    job_failures: list[JobFailure]
    #: Kept for the JSON summary's readers: a run that is stopped raises instead of returning.
    interrupted: bool = False
    #: Seconds hosts that stopped answering were waited for (outages ridden out).
    outage_seconds: float = 0.0
    #: Files that failed in the main pass and were fetched again in a later one.
    retried_files: int = 0

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.jobs_failed == 0 and not self.interrupted


@dataclass
class Progress:
    """Live counters, updated by the pipeline and read by progress reporters."""

    started: float = field(default_factory=time.monotonic)
    listing_done: bool = False
    jobs: int = 0
    jobs_planned: int = 0
    files: int = 0
    downloaded: int = 0
    skipped: int = 0
    failed: int = 0
    bytes: int = 0
    retried_files: int = 0
    planned_bytes: int = 0
    unknown_sizes: int = 0
    formats: dict[str, int] = field(default_factory=dict)
    skipped_parts: list[SkippedItem] = field(default_factory=list)
    failures: list[FileFailure] = field(default_factory=list)
    job_failures: list[JobFailure] = field(default_factory=list)
    #: The health of every host the source talks to (outages), read for display.
    hosts: list[HostHealth] = field(default_factory=list)

    def waiting_for(self) -> dict[str, float]:
        """The hosts down now, with how long each has been down (seconds)."""
        return {o: d for h in self.hosts for o, d in h.down_now().items()}

    def outage_seconds(self) -> float:
        """Seconds spent in outages so far."""
        return sum(h.waited() for h in self.hosts)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    @property
    def finished_files(self) -> int:
        return self.downloaded + self.skipped + self.failed

    def eta(self) -> float | None:
        """Seconds left, once the whole list is known and some files are done."""
        done = self.downloaded + self.failed
        remaining = self.files - self.finished_files
        if not self.listing_done or done == 0 or remaining <= 0:
            return None
        return remaining * self.elapsed / done

    def summary(self, out: str, *, dry_run: bool, interrupted: bool = False) -> ArchiveSummary:
        elapsed = max(self.elapsed, 1e-9)
        return ArchiveSummary(
            out=out,
            dry_run=dry_run,
            jobs=self.jobs_planned + len(self.job_failures),
            jobs_failed=len(self.job_failures),
            files=self.files,
            downloaded=self.downloaded,
            skipped=self.skipped,
            failed=self.failed,
            bytes=self.bytes,
            planned_bytes=None if self.unknown_sizes else self.planned_bytes,
            elapsed=round(elapsed, 3),
            bytes_per_second=round(self.bytes / elapsed, 1),
            files_per_second=round(self.downloaded / elapsed, 2),
            formats=dict(sorted(self.formats.items())),
            skipped_parts=self.skipped_parts,
            failures=self.failures,
            job_failures=self.job_failures,
            interrupted=interrupted,
            outage_seconds=round(self.outage_seconds(), 1),
            retried_files=self.retried_files,
        )
