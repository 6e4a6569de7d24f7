"""Retry decisions and back-off delays (pure functions)."""

from __future__ import annotations

import email.utils
import math
import random
from dataclasses import dataclass

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRYABLE_STATUSES = frozenset({408, 429})


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), or ``None``.

    ``now`` is the current wall-clock time (epoch seconds), used for the HTTP-date form.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:  # pragma: no cover - older Pythons
            return None
        return max(0.0, when.timestamp() - now)
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


@dataclass(frozen=True)
class RetryPolicy:
    """When to retry a request and how long to wait before the next attempt.

    Idempotent requests are retried on connection errors, timeouts, 408, 429 and 5xx.
    Other methods (POST, PATCH) are retried only when the server cannot have acted on
    them: a refused connection, or 429. ``max_retries`` counts per host of a redirect chain;
    ``retry_for`` bounds the time one request (or file) may spend retrying.
    """

    max_retries: int = 5
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    retry_after_max: float = 120.0
    retry_for: float = 300.0

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if self.backoff_base < 0 or self.backoff_max < 0 or self.retry_after_max < 0:
            raise ValueError("back-off delays must be >= 0")
        if self.retry_for <= 0:
            raise ValueError("retry_for must be > 0")

    def can_retry(self, attempt: int) -> bool:
        """Whether another attempt may follow attempt number ``attempt`` (0-based)."""
        return attempt < self.max_retries

    def retry_status(self, method: str, status: int, *, repeatable: bool = False) -> bool:
        """Whether a response with ``status`` is worth another attempt (``repeatable``: the
        request may be sent again whatever its method, as a token grant may)."""
        if status == 429:
            return True
        if method.upper() not in IDEMPOTENT_METHODS and not repeatable:
            return False
        return status in RETRYABLE_STATUSES or status >= 500

    def retry_error(self, method: str, *, sent: bool, repeatable: bool = False) -> bool:
        """Whether a connection-level failure is worth another attempt.

        ``sent`` is False when the failure happened before the request could reach the server.
        """
        return not sent or repeatable or method.upper() in IDEMPOTENT_METHODS

    def body_retry(self, failures: int, spent: float) -> float | None:
        """Seconds to wait before resuming a body after its ``failures``-th failure, or
        ``None`` when the retries or the ``retry_for`` budget (``spent`` so far) are used up."""
        delay = self.backoff(failures - 1)
        if not self.can_retry(failures - 1) or spent + delay > self.retry_for:
            return None
        return delay

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """Capped exponential back-off with equal jitter for retry number ``attempt`` (0-based)."""
        ceiling = min(self.backoff_max, self.backoff_base * (2.0**attempt))
        r = (rng or random).random()
        return ceiling / 2 + r * ceiling / 2

    def delay(
        self,
        attempt: int,
        retry_after: str | None = None,
        *,
        now: float,
        rng: random.Random | None = None,
    ) -> float:
        """Seconds before the next attempt: ``Retry-After`` when given (capped), else back-off."""
        hinted = parse_retry_after(retry_after, now)
        if hinted is not None:
            return min(hinted, self.retry_after_max)
        return self.backoff(attempt, rng)
