"""Blocking clients for scripts, notebooks and WSGI views, over the async ones.

Each sync client runs its async client on an event loop in a thread of its own (an anyio
blocking portal), stopped when the client closes: ``with SyncHoverClient(...) as hover:``.
Methods return what the async ones return; async iterators become plain iterators.
"""

from .archive import archive
from .base import SyncClient
from .clients import (
    SyncHoverClient,
    SyncRealityAnalysisClient,
    SyncRealityManagementClient,
    SyncRealityModelingClient,
    SyncRealityModelingV2Client,
    SyncV2JobsApi,
    SyncWebhooksClient,
)

__all__ = [
    "SyncClient",
    "SyncHoverClient",
    "SyncRealityAnalysisClient",
    "SyncRealityManagementClient",
    "SyncRealityModelingClient",
    "SyncRealityModelingV2Client",
    "SyncV2JobsApi",
    "SyncWebhooksClient",
    "archive",
]
