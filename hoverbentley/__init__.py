"""hoverbentley: fast, resumable, verified async access to Hover and Bentley reality data."""

from __future__ import annotations

__version__ = "0.1.0"

from .auth import JsonFileTokenStore, MemoryTokenStore, StaticToken, StoredTokens, TokenStore
from .config import HttpConfig
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
    HoverBentleyError,
    IntegrityError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ReauthorizationRequired,
    RedirectError,
    ServerError,
    UnprocessableEntityError,
)
from .hover import HoverClient, HoverOAuth

__all__ = [
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
    "HoverBentleyError",
    "HoverClient",
    "HoverOAuth",
    "HttpConfig",
    "IntegrityError",
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
    "__version__",
    "download_file",
]
