"""Bentley iTwin: Reality Modeling v1 and v2, Reality Analysis v2, and Reality Management.

Typed models, the ``$filter`` builder (v1 and v2 grammars) and the clients.
"""

from .client import RealityModelingClient
from .filters import F, Filter, FilterLike, and_, or_, raw, render_filter, validate_top
from .models import Job, JobOutput, JobProgress, JobsPage, Workspace, parse_datetime
from .reality import RealityManagementClient
from .v2 import CancellationRefused, RealityAnalysisClient, RealityModelingV2Client

__all__ = [
    "CancellationRefused",
    "F",
    "Filter",
    "FilterLike",
    "Job",
    "JobOutput",
    "JobProgress",
    "JobsPage",
    "RealityAnalysisClient",
    "RealityManagementClient",
    "RealityModelingClient",
    "RealityModelingV2Client",
    "Workspace",
    "and_",
    "or_",
    "parse_datetime",
    "raw",
    "render_filter",
    "validate_top",
]
