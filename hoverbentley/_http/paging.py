"""Page iteration that fetches the next page while the caller consumes the current one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import TypeVar

K = TypeVar("K")
P = TypeVar("P")


async def prefetch_pages(
    fetch: Callable[[K], Awaitable[P]],
    first: K,
    following: Callable[[P, K], K | None],
) -> AsyncGenerator[P, None]:
    """Yield ``fetch(first)``, then each page ``following`` names, one request ahead.

    ``following(page, key)`` gives the key of the page after ``page`` or ``None`` at the end.
    Leaving the loop early cancels the request in flight.
    """
    key = first
    pending: asyncio.Task[P] | None = asyncio.ensure_future(fetch(key))
    try:
        while pending is not None:
            page = await pending
            pending = None
            after = following(page, key)
            if after is not None:
                key = after
                pending = asyncio.ensure_future(fetch(key))
            yield page
    finally:
        if pending is not None:
            pending.cancel()
            await asyncio.gather(pending, return_exceptions=True)
