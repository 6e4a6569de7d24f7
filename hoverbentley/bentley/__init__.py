"""Bentley iTwin Reality Modeling v1: typed models, the ``$filter`` builder and the client."""

from .client import RealityModelingClient
from .filters import F, Filter, FilterLike, and_, or_, raw, render_filter, validate_top
from .models import Job, JobOutput, JobProgress, JobsPage, Workspace, parse_datetime

__all__ = [
    "F",
    "Filter",
    "FilterLike",
    "Job",
    "JobOutput",
    "JobProgress",
    "JobsPage",
    "RealityModelingClient",
    "Workspace",
    "and_",
    "or_",
    "parse_datetime",
    "raw",
    "render_filter",
    "validate_top",
]
