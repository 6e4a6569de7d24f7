"""An async rate limiter shared by every request of one client."""

from __future__ import annotations

import anyio

from .._core.ratelimit import Gcra
from .clock import now


class RateLimiter:
    """Spaces requests to ``per_minute`` with a small burst; callers wait their turn."""

    def __init__(self, per_minute: float, burst: int = 1) -> None:
        self._gcra = Gcra(rate=per_minute / 60.0, burst=burst)

    async def acquire(self) -> None:
        """Wait until the next request may be sent."""
        wait = self._gcra.reserve(now())
        if wait > 0:
            await anyio.sleep(wait)

    def pause(self, seconds: float) -> None:
        """Hold every later request back by ``seconds`` (the server asked for it)."""
        self._gcra.pause(now(), seconds)
