"""HTTP settings shared by every client."""

from __future__ import annotations

from dataclasses import dataclass

from . import __version__
from ._core.retry import RetryPolicy


@dataclass(frozen=True)
class HttpConfig:
    """Connection, timeout, retry and rate-limit settings of one client.

    ``requests_per_minute`` limits requests to the provider's API host (downloads that start
    there included); ``None`` turns the limiter off. Timeouts apply per socket operation, never
    to a whole transfer, so large downloads are not cut short.
    """

    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    max_connections: int = 64
    max_connections_per_host: int = 16
    max_retries: int = 5
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    retry_after_max: float = 120.0
    requests_per_minute: float | None = None
    rate_burst: int = 5
    max_redirects: int = 10
    max_body_bytes: int = 64 * 1024 * 1024
    read_bufsize: int = 1024 * 1024
    ca_file: str | None = None
    user_agent: str = f"hoverbentley/{__version__}"

    def __post_init__(self) -> None:
        for name in ("connect_timeout", "read_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0")
        if self.max_connections < 1 or self.max_connections_per_host < 0:
            raise ValueError("max_connections must be >= 1 and max_connections_per_host >= 0")
        if self.requests_per_minute is not None and self.requests_per_minute <= 0:
            raise ValueError("requests_per_minute must be > 0 (or None to turn the limiter off)")
        self.retry_policy()  # validates the retry fields

    def retry_policy(self) -> RetryPolicy:
        """The retry policy these settings describe."""
        return RetryPolicy(
            max_retries=self.max_retries,
            backoff_base=self.backoff_base,
            backoff_max=self.backoff_max,
            retry_after_max=self.retry_after_max,
        )
