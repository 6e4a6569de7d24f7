"""Bentley iTwin: Reality Modeling v1 and v2, Reality Analysis v2, Reality Management, and
the registration of iTwin webhooks (Webhooks v2).

Typed models, the ``$filter`` builder (v1 and v2 grammars), the clients, and webhook events.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._core.lazy import lazy_names

if TYPE_CHECKING:
    from .client import RealityModelingClient
    from .filters import F, Filter, FilterLike, and_, or_, raw, render_filter, validate_top
    from .models import Job, JobOutput, JobProgress, JobsPage, Workspace, parse_datetime
    from .reality import RealityManagementClient
    from .v2 import CancellationRefused, RealityAnalysisClient, RealityModelingV2Client
    from .webhook_events import (
        BentleyEvent,
        BentleyWebhookEvent,
        GenericBentleyEvent,
        JobCompletedContent,
        JobCompletedV2Content,
        RealityAnalysisJobCompletedV1,
        RealityConversionJobCompletedV1,
        RealityModelingJobCompletedV1,
        RealityModelingJobCompletedV2,
        bentley_event_from_http,
        decode_bentley_event,
        sign_bentley_event,
        validate_bentley_signature,
    )
    from .webhooks import CreatedWebhook, Webhook, WebhooksClient

__getattr__ = lazy_names(
    __name__,
    {
        ".client": ("RealityModelingClient",),
        ".filters": (
            "F",
            "Filter",
            "FilterLike",
            "and_",
            "or_",
            "raw",
            "render_filter",
            "validate_top",
        ),
        ".models": ("Job", "JobOutput", "JobProgress", "JobsPage", "Workspace", "parse_datetime"),
        ".reality": ("RealityManagementClient",),
        ".v2": ("CancellationRefused", "RealityAnalysisClient", "RealityModelingV2Client"),
        ".webhook_events": (
            "BentleyEvent",
            "BentleyWebhookEvent",
            "GenericBentleyEvent",
            "JobCompletedContent",
            "JobCompletedV2Content",
            "RealityAnalysisJobCompletedV1",
            "RealityConversionJobCompletedV1",
            "RealityModelingJobCompletedV1",
            "RealityModelingJobCompletedV2",
            "bentley_event_from_http",
            "decode_bentley_event",
            "sign_bentley_event",
            "validate_bentley_signature",
        ),
        ".webhooks": ("CreatedWebhook", "Webhook", "WebhooksClient"),
    },
)

__all__ = [
    "BentleyEvent",
    "BentleyWebhookEvent",
    "CancellationRefused",
    "CreatedWebhook",
    "F",
    "Filter",
    "FilterLike",
    "GenericBentleyEvent",
    "Job",
    "JobCompletedContent",
    "JobCompletedV2Content",
    "JobOutput",
    "JobProgress",
    "JobsPage",
    "RealityAnalysisClient",
    "RealityAnalysisJobCompletedV1",
    "RealityConversionJobCompletedV1",
    "RealityManagementClient",
    "RealityModelingClient",
    "RealityModelingJobCompletedV1",
    "RealityModelingJobCompletedV2",
    "RealityModelingV2Client",
    "Webhook",
    "WebhooksClient",
    "Workspace",
    "and_",
    "bentley_event_from_http",
    "decode_bentley_event",
    "or_",
    "parse_datetime",
    "raw",
    "render_filter",
    "sign_bentley_event",
    "validate_bentley_signature",
    "validate_top",
]
