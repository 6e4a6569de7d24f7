"""The bulk archive: concurrent, resumable, verified copies of every job's files."""

from .manifest import Manifest, ManifestEntry
from .pipeline import ArchiveOptions, ArchiveWriteError, archive
from .plan import ArchiveSource, JobPlan, PlannedFile, SkippedPart
from .select import parse_include
from .summary import ArchiveSummary, FileFailure, JobFailure, Progress, SkippedItem

__all__ = [
    "ArchiveOptions",
    "ArchiveSource",
    "ArchiveSummary",
    "ArchiveWriteError",
    "FileFailure",
    "JobFailure",
    "JobPlan",
    "Manifest",
    "ManifestEntry",
    "PlannedFile",
    "Progress",
    "SkippedItem",
    "SkippedPart",
    "archive",
    "parse_include",
]
