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


class DryRunFile(msgspec.Struct, kw_only=True):
    """What a dry run would do with one file: ``"fetch"`` or ``"skip"`` it, and why.

    ``size`` is what the archive holds of a file to skip (from the manifest), what the
    provider says of a file to fetch, or ``None`` when neither tells.
    """

    job_id: str
    path: str
    size: int | None
    action: str
    reason: str


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
    #: Job records (``job.json``) written new or changed: what the archive says of a job
    #: (its address, its deliverable) changed even where no file was downloaded.
    records_changed: int = 0
    #: Why a run ended before its end without a signal: ``"max_transfer"`` (the run moved
    #: ``ArchiveOptions.max_transfer`` bytes) or ``"max_duration"`` (it ran that long).
    stopped: str | None = None
    #: What the archive held already of the files skipped as complete (bytes the manifest
    #: or the listing names); a dry run's ``skipped`` is what it would skip.
    skipped_bytes: int = 0
    #: Bytes of the files to fetch (``None`` when the provider did not give every size).
    fetch_bytes: int | None = None

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.jobs_failed == 0 and not self.interrupted

    @property
    def to_fetch(self) -> int:
        """Files that were (or, in a dry run, would be) fetched: those not already complete."""
        return self.files - self.skipped


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
    #: Bytes of the files downloaded whole.
    bytes: int = 0
    #: Bytes received so far, files in flight included (what the current rate is made of).
    transferred: int = 0
    #: Downloads under way now.
    in_flight: int = 0
    retried_files: int = 0
    records_changed: int = 0
    planned_bytes: int = 0
    unknown_sizes: int = 0
    #: The files not already complete (to fetch): the sizes known, and how many have none.
    fetch_files: int = 0
    fetch_known_bytes: int = 0
    fetch_unknown: int = 0
    #: Of those, the files done with: the sizes of those with one, how many without; and the
    #: downloads without a size given and their bytes (the mean that estimates the others).
    known_finished: int = 0
    unknown_finished: int = 0
    unknown_downloaded: int = 0
    unknown_bytes: int = 0
    #: What the archive holds of the files skipped as complete.
    skipped_bytes: int = 0
    #: ``"max_transfer"`` or ``"max_duration"`` once a limit stopped the run.
    stopped: str | None = None
    formats: dict[str, int] = field(default_factory=dict)
    skipped_parts: list[SkippedItem] = field(default_factory=list)
    failures: list[FileFailure] = field(default_factory=list)
    job_failures: list[JobFailure] = field(default_factory=list)
    #: The health of every host the source talks to (outages), read for display.
    hosts: list[HostHealth] = field(default_factory=list)

    def waiting_for(self) -> dict[str, float]:
        """The hosts down now, with how long each has been down (seconds)."""
        return {o: d for h in self.hosts for o, d in h.down_now().items()}

    def awaiting_response(self) -> dict[str, float]:
        """The hosts a request has waited long for a response from, with how long (seconds)."""
        return {o: w for h in self.hosts for o, w in h.awaiting_response().items()}

    def outage_seconds(self) -> float:
        """Seconds spent in outages so far."""
        return sum(h.waited() for h in self.hosts)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    @property
    def finished_files(self) -> int:
        return self.downloaded + self.skipped + self.failed

    @property
    def plan_complete(self) -> bool:
        """Every job is listed and planned (or failed): every file to fetch is known."""
        return self.listing_done and self.jobs_planned + len(self.job_failures) >= self.jobs

    def bytes_left(self) -> float | None:
        """Bytes still to come of the files to fetch: the sizes the provider gave, for the
        others the mean of those downloaded so far (else of the sizes given), less what the
        files in flight hold already; ``None`` while nothing tells."""
        unknown = self.fetch_unknown - self.unknown_finished
        mean = 0.0
        if unknown:
            if self.unknown_downloaded:
                mean = self.unknown_bytes / self.unknown_downloaded
            elif self.fetch_files > self.fetch_unknown:
                mean = self.fetch_known_bytes / (self.fetch_files - self.fetch_unknown)
            else:
                return None
        in_flight = max(self.transferred - self.bytes, 0)
        return max(self.fetch_known_bytes - self.known_finished + unknown * mean - in_flight, 0.0)

    def finished(self, file_size: int | None, received: int | None) -> None:
        """A file to fetch is done with: downloaded (``received`` bytes) or failed."""
        if file_size is not None:
            self.known_finished += file_size
            return
        self.unknown_finished += 1
        if received is not None:
            self.unknown_downloaded += 1
            self.unknown_bytes += received

    def summary(self, out: str, *, dry_run: bool, interrupted: bool = False) -> ArchiveSummary:
        """The summary of the run so far (``interrupted`` too when a limit stopped it)."""
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
            interrupted=interrupted or self.stopped is not None,
            outage_seconds=round(self.outage_seconds(), 1),
            retried_files=self.retried_files,
            records_changed=self.records_changed,
            stopped=self.stopped,
            skipped_bytes=self.skipped_bytes,
            fetch_bytes=None if self.fetch_unknown else self.fetch_known_bytes,
        )
