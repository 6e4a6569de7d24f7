"""A bandwidth limit shared by every transfer of one transport (``--bwlimit``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio


class Bandwidth:
    """Spaces the bytes of all bodies read through one transport to ``rate`` bytes a second.

    Each chunk gets the next slot of the shared schedule: a chunk of ``n`` bytes takes
    ``n / rate`` seconds of it, and its reader waits until its slot begins. Idle time is not
    saved up, so a burst after a pause is one chunk, not seconds of traffic. Readers hand
    on at most :attr:`piece` bytes a slot (a tenth of a second of the rate, 16 KiB to
    1 MiB), so bytes flow at the rate rather than in bursts of a whole buffer.
    """

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = anyio.current_time,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("a bandwidth limit must be > 0 bytes a second")
        self.rate = rate
        #: The most bytes one slot covers.
        self.piece = int(min(max(rate / 10, 16 * 1024), 1024 * 1024))
        self._clock = clock
        self._sleep = sleep
        self._free_at = 0.0
        #: Bytes that went through the limit so far.
        self.bytes = 0

    async def take(self, size: int) -> None:
        """Wait for the turn of ``size`` more bytes."""
        self.bytes += size
        now = self._clock()
        start = max(self._free_at, now)
        self._free_at = start + size / self.rate
        if start > now:
            await self._sleep(start - now)
