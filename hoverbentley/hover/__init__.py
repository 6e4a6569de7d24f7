"""Hover (hover.to): jobs, models, measurement reports, CAD exports, photos, and webhooks
(registration and the events they deliver)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._core.lazy import lazy_names

# Imported at once: the function ``takeoff`` is named as its module, which would otherwise
# replace it as the package's attribute once imported.
from .takeoff import Takeoff, takeoff

if TYPE_CHECKING:
    from .auth import HoverOAuth
    from .client import HoverClient, JobRecord, JobResult, MeasurementsRecord
    from .files import JobFile, JobFiles, SkippedModel, job_files
    from .measurements import (
        FullMeasurements,
        MeasurementsDocument,
        SummarizedMeasurements,
        decode_measurements,
    )
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
    from .webhook_events import (
        GenericHoverEvent,
        HoverEvent,
        HoverWebhookEvent,
        JobStateChanged,
        ModelCreated,
        ModelStateChanged,
        WebhookVerificationCode,
        decode_hover_event,
        hover_event_from_http,
        sign_hover_event,
        validate_hover_signature,
    )
    from .webhooks import Webhook, WebhookPage

__getattr__ = lazy_names(
    __name__,
    {
        ".auth": ("HoverOAuth",),
        ".client": ("HoverClient", "JobRecord", "JobResult", "MeasurementsRecord"),
        ".files": ("JobFile", "JobFiles", "SkippedModel", "job_files"),
        ".measurements": (
            "FullMeasurements",
            "MeasurementsDocument",
            "SummarizedMeasurements",
            "decode_measurements",
        ),
        ".models": (
            "Address",
            "Artifacts",
            "CadExports",
            "Capture",
            "Customer",
            "Image",
            "Job",
            "JobListPage",
            "JobSummary",
            "Measurements",
            "Model",
            "Pagination",
            "ThreeDExperience",
            "parse_timestamp",
        ),
        ".webhook_events": (
            "GenericHoverEvent",
            "HoverEvent",
            "HoverWebhookEvent",
            "JobStateChanged",
            "ModelCreated",
            "ModelStateChanged",
            "WebhookVerificationCode",
            "decode_hover_event",
            "hover_event_from_http",
            "sign_hover_event",
            "validate_hover_signature",
        ),
        ".webhooks": ("Webhook", "WebhookPage"),
    },
)

__all__ = [
    "Address",
    "Artifacts",
    "CadExports",
    "Capture",
    "Customer",
    "FullMeasurements",
    "GenericHoverEvent",
    "HoverClient",
    "HoverEvent",
    "HoverOAuth",
    "HoverWebhookEvent",
    "Image",
    "Job",
    "JobFile",
    "JobFiles",
    "JobListPage",
    "JobRecord",
    "JobResult",
    "JobStateChanged",
    "JobSummary",
    "Measurements",
    "MeasurementsDocument",
    "MeasurementsRecord",
    "Model",
    "ModelCreated",
    "ModelStateChanged",
    "Pagination",
    "SkippedModel",
    "SummarizedMeasurements",
    "Takeoff",
    "ThreeDExperience",
    "Webhook",
    "WebhookPage",
    "WebhookVerificationCode",
    "decode_hover_event",
    "decode_measurements",
    "hover_event_from_http",
    "job_files",
    "parse_timestamp",
    "sign_hover_event",
    "takeoff",
    "validate_hover_signature",
]
