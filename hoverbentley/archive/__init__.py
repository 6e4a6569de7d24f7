"""The bulk archive: concurrent, resumable, verified copies of every job's files."""

from ..hover.select import parse_exclude, parse_include
from .destination import ArchiveWriteError, Destination
from .local import LocalDirectory
from .manifest import Manifest, ManifestEntry
from .options import ArchiveOptions
from .pipeline import archive
from .plan import ArchiveSource, JobPlan, PlannedFile, SkippedItem, SkippedPart
from .summary import ArchiveSummary, FileFailure, JobFailure, Progress

__all__ = [
    "ArchiveOptions",
    "ArchiveSource",
    "ArchiveSummary",
    "ArchiveWriteError",
    "Destination",
    "FileFailure",
    "JobFailure",
    "JobPlan",
    "LocalDirectory",
    "Manifest",
    "ManifestEntry",
    "PlannedFile",
    "Progress",
    "SkippedItem",
    "SkippedPart",
    "archive",
    "parse_exclude",
    "parse_include",
]
