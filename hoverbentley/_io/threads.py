"""Blocking file work off the event loop, on one pool of threads shared by the process.

``loop.run_in_executor`` on a pool of our own costs about half of what
``anyio.to_thread.run_sync`` does per call (no capacity limiter, no worker bookkeeping),
which counts when every small file takes a thread hop of its own.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import anyio

__all__ = ["MAX_THREADS", "pool", "run_blocking"]

T = TypeVar("T")

#: Threads for file work: enough for every transfer of a wide run to wait on fsync at once.
MAX_THREADS = 32

_pool: ThreadPoolExecutor | None = None


def pool() -> ThreadPoolExecutor:
    """The process's pool of file-work threads, started on first use."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(MAX_THREADS, thread_name_prefix="hoverbentley-io")
    return _pool


def _forget_pool() -> None:
    # A forked child inherits the pool object but none of its threads.
    global _pool
    _pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


async def run_blocking(fn: Callable[..., T], *args: object) -> T:
    """``fn(*args)`` on a pool thread.

    The wait is shielded: a thread cannot be stopped, so a cancelled caller still waits for
    the write, rename or close it started before its own clean-up runs.
    """
    future = asyncio.get_running_loop().run_in_executor(pool(), fn, *args)
    with anyio.CancelScope(shield=True):
        result = await future
    return result
