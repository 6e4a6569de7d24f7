"""Hover (hover.to): jobs, models, measurement reports, CAD exports and photos; webhooks."""

from .auth import HoverOAuth
from .client import HoverClient, JobRecord, JobResult
from .files import JobFile, JobFiles, SkippedModel, job_files
from .models import (
    Address,
    Artifacts,
    CadExports,
    Capture,
    Customer,
    Image,
    Job,
    JobListPage,
    JobSummary,
    Measurements,
    Model,
    Pagination,
    ThreeDExperience,
    parse_timestamp,
)
from .webhooks import Webhook, WebhookPage

__all__ = [
    "Address",
    "Artifacts",
    "CadExports",
    "Capture",
    "Customer",
    "HoverClient",
    "HoverOAuth",
    "Image",
    "Job",
    "JobFile",
    "JobFiles",
    "JobListPage",
    "JobRecord",
    "JobResult",
    "JobSummary",
    "Measurements",
    "Model",
    "Pagination",
    "SkippedModel",
    "ThreeDExperience",
    "Webhook",
    "WebhookPage",
    "job_files",
    "parse_timestamp",
]
