"""hoverbentley: fast, resumable, verified async access to Hover and Bentley reality data.

The names below are imported on first use (PEP 562): ``import hoverbentley.cli`` or a
command that needs no HTTP (``--help``, ``verify``) does not pay for aiohttp and both
providers' clients.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .archive import ArchiveOptions, ArchiveSummary, archive
    from .archive.bentley_source import BentleySource
    from .archive.hover_source import HoverSource
    from .auth import (
        JsonFileTokenStore,
        MemoryTokenStore,
        ObjectTokenStore,
        StaticToken,
        StoredTokens,
        TokenStore,
        TokenStoreError,
    )
    from .bentley import (
        F,
        RealityAnalysisClient,
        RealityManagementClient,
        RealityModelingClient,
        RealityModelingV2Client,
        WebhooksClient,
    )
    from .config import PROVIDER_DEFAULT, HttpConfig
    from .download import DownloadResult, download_file
    from .errors import (
        APIConnectionError,
        APIError,
        APIStatusError,
        APITimeoutError,
        ArchiveWriteError,
        AuthenticationError,
        BadRequestError,
        ConfigurationError,
        ConflictError,
        DecodeError,
        HostUnavailableError,
        HoverBentleyError,
        IntegrityError,
        InvalidParameterError,
        InvalidSignature,
        MalformedEvent,
        NotFoundError,
        PermissionDeniedError,
        RateLimitError,
        ReauthorizationRequired,
        RedirectError,
        ServerError,
        StaleEvent,
        UnprocessableEntityError,
        UnreachableHostError,
        WebhookError,
    )
    from .hover import HoverClient, HoverOAuth
    from .sync import (
        SyncHoverClient,
        SyncRealityAnalysisClient,
        SyncRealityManagementClient,
        SyncRealityModelingClient,
        SyncRealityModelingV2Client,
        SyncWebhooksClient,
    )

#: Where each public name lives.
_HOMES: dict[str, str] = {
    "APIConnectionError": ".errors",
    "APIError": ".errors",
    "APIStatusError": ".errors",
    "APITimeoutError": ".errors",
    "ArchiveOptions": ".archive",
    "ArchiveSummary": ".archive",
    "ArchiveWriteError": ".errors",
    "AuthenticationError": ".errors",
    "BadRequestError": ".errors",
    "BentleySource": ".archive.bentley_source",
    "ConfigurationError": ".errors",
    "ConflictError": ".errors",
    "DecodeError": ".errors",
    "DownloadResult": ".download",
    "F": ".bentley",
    "HostUnavailableError": ".errors",
    "HoverBentleyError": ".errors",
    "HoverClient": ".hover",
    "HoverOAuth": ".hover",
    "HoverSource": ".archive.hover_source",
    "HttpConfig": ".config",
    "IntegrityError": ".errors",
    "InvalidParameterError": ".errors",
    "InvalidSignature": ".errors",
    "JsonFileTokenStore": ".auth",
    "MalformedEvent": ".errors",
    "MemoryTokenStore": ".auth",
    "NotFoundError": ".errors",
    "ObjectTokenStore": ".auth",
    "PROVIDER_DEFAULT": ".config",
    "PermissionDeniedError": ".errors",
    "RateLimitError": ".errors",
    "RealityAnalysisClient": ".bentley",
    "RealityManagementClient": ".bentley",
    "RealityModelingClient": ".bentley",
    "RealityModelingV2Client": ".bentley",
    "ReauthorizationRequired": ".errors",
    "RedirectError": ".errors",
    "ServerError": ".errors",
    "StaleEvent": ".errors",
    "StaticToken": ".auth",
    "StoredTokens": ".auth",
    "SyncHoverClient": ".sync",
    "SyncRealityAnalysisClient": ".sync",
    "SyncRealityManagementClient": ".sync",
    "SyncRealityModelingClient": ".sync",
    "SyncRealityModelingV2Client": ".sync",
    "SyncWebhooksClient": ".sync",
    "TokenStore": ".auth",
    "TokenStoreError": ".auth",
    "UnprocessableEntityError": ".errors",
    "UnreachableHostError": ".errors",
    "WebhookError": ".errors",
    "WebhooksClient": ".bentley",
    "archive": ".archive",
    "download_file": ".download",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value
    return value


class _Package(ModuleType):
    """The package, whose ``archive`` stays the function when the subpackage of that name
    is imported (the import system sets the subpackage as the attribute)."""

    @property
    def archive(self) -> Any:
        return __getattr__("archive")

    @archive.setter
    def archive(self, value: Any) -> None:
        if not isinstance(value, ModuleType):
            globals()["archive"] = value


sys.modules[__name__].__class__ = _Package

__all__ = [
    "PROVIDER_DEFAULT",
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "ArchiveOptions",
    "ArchiveSummary",
    "ArchiveWriteError",
    "AuthenticationError",
    "BadRequestError",
    "BentleySource",
    "ConfigurationError",
    "ConflictError",
    "DecodeError",
    "DownloadResult",
    "F",
    "HostUnavailableError",
    "HoverBentleyError",
    "HoverClient",
    "HoverOAuth",
    "HoverSource",
    "HttpConfig",
    "IntegrityError",
    "InvalidParameterError",
    "InvalidSignature",
    "JsonFileTokenStore",
    "MalformedEvent",
    "MemoryTokenStore",
    "NotFoundError",
    "ObjectTokenStore",
    "PermissionDeniedError",
    "RateLimitError",
    "RealityAnalysisClient",
    "RealityManagementClient",
    "RealityModelingClient",
    "RealityModelingV2Client",
    "ReauthorizationRequired",
    "RedirectError",
    "ServerError",
    "StaleEvent",
    "StaticToken",
    "StoredTokens",
    "SyncHoverClient",
    "SyncRealityAnalysisClient",
    "SyncRealityManagementClient",
    "SyncRealityModelingClient",
    "SyncRealityModelingV2Client",
    "SyncWebhooksClient",
    "TokenStore",
    "TokenStoreError",
    "UnprocessableEntityError",
    "UnreachableHostError",
    "WebhookError",
    "WebhooksClient",
    "__version__",
    "archive",
    "download_file",
]
