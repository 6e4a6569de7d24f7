"""The bulk archive: concurrent, resumable, verified copies of every job's files."""

from ..errors import ArchiveWriteError
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
