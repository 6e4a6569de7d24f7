"""HTTP settings shared by every client."""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from typing import Final

from .._core.retry import RetryPolicy
from .._version import __version__


class _ProviderDefault(enum.Enum):
    PROVIDER_DEFAULT = "provider default"

    def __repr__(self) -> str:
        return "PROVIDER_DEFAULT"


#: ``requests_per_minute`` left to the client: each provider's client knows its service's quota.
PROVIDER_DEFAULT: Final = _ProviderDefault.PROVIDER_DEFAULT


@dataclass(frozen=True)
class HttpConfig:
    """Connection, timeout, retry and rate-limit settings of one client.

    ``requests_per_minute`` limits requests to the provider's API host (downloads that start
    there included): :data:`PROVIDER_DEFAULT` takes the client's default for its service
    (Hover 100, Bentley 450), ``None`` turns the limiter off. Timeouts apply per socket
    operation, never to a whole transfer, so large downloads are not cut short.

    Retries: each host of a redirect chain has ``max_retries`` of its own, and one request
    (or one file, for downloads) stops retrying after ``retry_for`` seconds. A body that
    delivers no byte for ``stall_timeout`` seconds is cut and resumed. A host that stops
    answering is waited for (new requests held, one probe at a time) for up to
    ``max_outage`` seconds before its requests fail. ``bandwidth_limit`` (bytes a second)
    caps the bodies read through one client, all transfers together.
    """

    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    stall_timeout: float = 20.0
    max_connections: int = 64
    max_connections_per_host: int = 16
    max_retries: int = 5
    retry_for: float = 300.0
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    retry_after_max: float = 120.0
    max_outage: float = 600.0
    requests_per_minute: float | _ProviderDefault | None = PROVIDER_DEFAULT
    rate_burst: int = 5
    max_redirects: int = 10
    max_body_bytes: int = 64 * 1024 * 1024
    read_bufsize: int = 1024 * 1024
    ca_file: str | None = None
    bandwidth_limit: float | None = None
    user_agent: str = f"hoverbentley/{__version__}"

    def __post_init__(self) -> None:
        for name in ("connect_timeout", "read_timeout", "stall_timeout", "retry_for"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0")
        if self.bandwidth_limit is not None and self.bandwidth_limit <= 0:
            raise ValueError("bandwidth_limit must be > 0 bytes a second (or None)")
        if self.max_outage < 0:
            raise ValueError("max_outage must be >= 0")
        if self.max_connections < 1 or self.max_connections_per_host < 0:
            raise ValueError("max_connections must be >= 1 and max_connections_per_host >= 0")
        rpm = self.requests_per_minute
        if isinstance(rpm, (int, float)) and rpm <= 0:
            raise ValueError("requests_per_minute must be > 0 (or None to turn the limiter off)")
        self.retry_policy()  # validates the retry fields

    @property
    def rate(self) -> float | None:
        """The request rate limit in force (``PROVIDER_DEFAULT`` unresolved counts as none)."""
        rpm = self.requests_per_minute
        return None if isinstance(rpm, _ProviderDefault) else rpm

    def for_provider(self, requests_per_minute: float | None) -> HttpConfig:
        """These settings with :data:`PROVIDER_DEFAULT` replaced by the provider's limit."""
        if self.requests_per_minute is not PROVIDER_DEFAULT:
            return self
        return dataclasses.replace(self, requests_per_minute=requests_per_minute)

    def retry_policy(self) -> RetryPolicy:
        """The retry policy these settings describe."""
        return RetryPolicy(
            max_retries=self.max_retries,
            backoff_base=self.backoff_base,
            backoff_max=self.backoff_max,
            retry_after_max=self.retry_after_max,
            retry_for=self.retry_for,
        )
