"""Bentley iTwin: Reality Modeling v1 and v2, Reality Analysis v2, Reality Management, and
the registration of iTwin webhooks (Webhooks v2).

Typed models, the ``$filter`` builder (v1 and v2 grammars) and the clients.
"""

from .client import RealityModelingClient
from .filters import F, Filter, FilterLike, and_, or_, raw, render_filter, validate_top
from .models import Job, JobOutput, JobProgress, JobsPage, Workspace, parse_datetime
from .reality import RealityManagementClient
from .v2 import CancellationRefused, RealityAnalysisClient, RealityModelingV2Client
from .webhooks import CreatedWebhook, Webhook, WebhooksClient

__all__ = [
    "CancellationRefused",
    "CreatedWebhook",
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
    "Webhook",
    "WebhooksClient",
    "Workspace",
    "and_",
    "or_",
    "parse_datetime",
    "raw",
    "render_filter",
    "validate_top",
]
