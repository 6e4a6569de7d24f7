"""hoverbentley: fast, resumable, verified async access to Hover and Bentley reality data."""

from __future__ import annotations

from ._version import __version__
from .auth import JsonFileTokenStore, MemoryTokenStore, StaticToken, StoredTokens, TokenStore
from .config import PROVIDER_DEFAULT, HttpConfig
from .download import DownloadResult, download_file
from .errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    DecodeError,
    HostUnavailableError,
    HoverBentleyError,
    IntegrityError,
    InvalidParameterError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ReauthorizationRequired,
    RedirectError,
    ServerError,
    UnprocessableEntityError,
    UnreachableHostError,
)
from .hover import HoverClient, HoverOAuth

__all__ = [
    "PROVIDER_DEFAULT",
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "DecodeError",
    "DownloadResult",
    "HostUnavailableError",
    "HoverBentleyError",
    "HoverClient",
    "HoverOAuth",
    "HttpConfig",
    "IntegrityError",
    "InvalidParameterError",
    "JsonFileTokenStore",
    "MemoryTokenStore",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ReauthorizationRequired",
    "RedirectError",
    "ServerError",
    "StaticToken",
    "StoredTokens",
    "TokenStore",
    "UnprocessableEntityError",
    "UnreachableHostError",
    "__version__",
    "download_file",
]
