"""The event loop's clock."""

from __future__ import annotations

import asyncio

__all__ = ["now"]


def now() -> float:
    """The running loop's time: what ``anyio.current_time()`` gives on asyncio.

    aiohttp ties the library to asyncio, and anyio's version looks its backend up on every
    call (a few microseconds, several times per file).
    """
    return asyncio.get_running_loop().time()
