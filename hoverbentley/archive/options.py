"""How an archive run behaves: concurrency, dry run, later passes."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigurationError

#: The most downloads or job records at once: each is a task started up front.
MAX_AT_ONCE = 1024


@dataclass(frozen=True)
class ArchiveOptions:
    """How an archive run behaves.

    ``concurrency`` downloads run at once, at most ``per_host`` of them to one host;
    ``detail_concurrency`` job records are fetched at once. ``dry_run`` lists and plans
    without writing anything.

    ``retries`` later passes follow the main one (as rclone's ``--retries``): the jobs with a
    failed file or a failed record are planned again (fresh details, fresh signed URLs) and
    only what failed is fetched again, before the run reports it failed.

    ``max_transfer`` (bytes received) and ``max_duration`` (seconds) stop a run cleanly once
    reached, as a cancellation does: files in flight are left to resume, the manifest is
    written, and the summary says which limit stopped it (``stopped``).
    """

    concurrency: int = 8
    per_host: int = 8
    detail_concurrency: int = 4
    dry_run: bool = False
    retries: int = 2
    max_transfer: int | None = None
    max_duration: float | None = None

    def __post_init__(self) -> None:
        for name in ("concurrency", "per_host", "detail_concurrency"):
            if not 1 <= getattr(self, name) <= MAX_AT_ONCE:
                raise ConfigurationError(f"{name} must be 1 to {MAX_AT_ONCE}")
        if self.retries < 0:
            raise ConfigurationError("retries must be >= 0")
        for name in ("max_transfer", "max_duration"):
            limit = getattr(self, name)
            if limit is not None and not limit > 0:  # NaN too
                raise ConfigurationError(f"{name} must be more than 0")
