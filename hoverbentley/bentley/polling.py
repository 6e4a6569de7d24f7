"""Waiting for a job with the polling the service asks for (both API versions)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import anyio

from ..errors import APITimeoutError, ConfigurationError

#: Seconds between progress polls, as the service asks; restarts when the percentage moves.
POLL_BACKOFF: tuple[float, ...] = (15, 30, 60, 120)
P = TypeVar("P")


async def poll_progress(
    fetch: Callable[[], Awaitable[P]],
    *,
    percentage: Callable[[P], float | None],
    finished: Callable[[P], bool],
    describe: Callable[[P], str],
    name: str,
    url: str,
    max_wait: float | None = None,
    intervals: Sequence[float] = POLL_BACKOFF,
    on_progress: Callable[[P], Awaitable[None] | None] | None = None,
) -> P:
    """Poll ``fetch`` until ``finished``; return that last progress.

    Polls back off through ``intervals`` and start again from the first when the percentage
    changes. Raises :class:`APITimeoutError` naming ``name`` after ``max_wait`` seconds.
    """
    if not intervals or any(i < 0 for i in intervals):
        raise ConfigurationError("intervals must be a non-empty list of seconds >= 0")
    started = time.monotonic()
    deadline = None if max_wait is None else started + max_wait
    step, last = 0, None
    while True:
        progress = await fetch()
        if on_progress is not None:
            result = on_progress(progress)
            if result is not None:
                await result
        if finished(progress):
            return progress
        if percentage(progress) != last:
            step, last = 0, percentage(progress)
        delay = intervals[min(step, len(intervals) - 1)]
        step += 1
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                waited = time.monotonic() - started
                raise APITimeoutError(
                    f"{name} still running after {waited:.1f} s ({describe(progress)})", url=url
                )
            delay = min(delay, left)  # the last poll comes at the deadline, not before it
        await anyio.sleep(delay)
