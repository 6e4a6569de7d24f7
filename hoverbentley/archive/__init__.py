"""The bulk archive: concurrent, resumable, verified copies of every job's files."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._core.lazy import lazy_names
from ..errors import ArchiveWriteError

if TYPE_CHECKING:
    from ..hover.select import parse_exclude, parse_include
    from .destination import Destination
    from .local import LocalDirectory
    from .manifest import Manifest, ManifestEntry
    from .options import ArchiveOptions
    from .pipeline import archive
    from .plan import ArchiveSource, JobPlan, PlannedFile, SkippedItem
    from .shard import IncompleteShardsError
    from .summary import ArchiveSummary, DryRunFile, FileFailure, JobFailure, Progress
    from .takeoff import TakeoffRow, TakeoffTable, read_takeoff, write_takeoff
    from .verify import VerifyProgress, VerifyReport, verify_archive

__getattr__ = lazy_names(
    __name__,
    {
        "..hover.select": ("parse_exclude", "parse_include"),
        ".destination": ("Destination",),
        ".local": ("LocalDirectory",),
        ".manifest": ("Manifest", "ManifestEntry"),
        ".options": ("ArchiveOptions",),
        ".pipeline": ("archive",),
        ".plan": ("ArchiveSource", "JobPlan", "PlannedFile", "SkippedItem"),
        ".shard": ("IncompleteShardsError",),
        ".summary": ("ArchiveSummary", "DryRunFile", "FileFailure", "JobFailure", "Progress"),
        ".takeoff": ("TakeoffRow", "TakeoffTable", "read_takeoff", "write_takeoff"),
        ".verify": ("VerifyProgress", "VerifyReport", "verify_archive"),
    },
)

__all__ = [
    "ArchiveOptions",
    "ArchiveSource",
    "ArchiveSummary",
    "ArchiveWriteError",
    "Destination",
    "DryRunFile",
    "FileFailure",
    "IncompleteShardsError",
    "JobFailure",
    "JobPlan",
    "LocalDirectory",
    "Manifest",
    "ManifestEntry",
    "PlannedFile",
    "Progress",
    "SkippedItem",
    "TakeoffRow",
    "TakeoffTable",
    "VerifyProgress",
    "VerifyReport",
    "archive",
    "parse_exclude",
    "parse_include",
    "read_takeoff",
    "verify_archive",
    "write_takeoff",
]
