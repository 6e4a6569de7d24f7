"""SIGTERM stops a run the way Ctrl-C does: cancelled, cleaned up, resumable."""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

T = TypeVar("T")


class Terminated(Exception):
    """The run was stopped by SIGTERM after it had cleaned up."""


async def run_until_terminated(call: Callable[[], Awaitable[T]]) -> T:
    """Await ``call()``; on SIGTERM cancel it (its ``finally`` blocks run) and raise
    :class:`Terminated`.

    A second SIGTERM while the first is being handled ends the process at once.
    """
    if sys.platform == "win32" or threading.current_thread() is not threading.main_thread():
        return await call()
    loop = asyncio.get_running_loop()
    with anyio.CancelScope() as scope:

        def stop() -> None:
            # Back to the default action: a second SIGTERM is not waited for.
            loop.remove_signal_handler(signal.SIGTERM)
            scope.cancel()

        loop.add_signal_handler(signal.SIGTERM, stop)
        try:
            return await call()
        finally:
            loop.remove_signal_handler(signal.SIGTERM)
    raise Terminated
