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

    Further SIGTERMs are ignored: the stop is under way. GNU ``timeout`` signals the process
    and then its whole group, so one timeout delivers two; what ends a stop that takes too
    long is the SIGKILL that ``timeout -k``, systemd and Kubernetes send after their grace.
    """
    if sys.platform == "win32" or threading.current_thread() is not threading.main_thread():
        return await call()
    loop = asyncio.get_running_loop()
    with anyio.CancelScope() as scope:
        loop.add_signal_handler(signal.SIGTERM, scope.cancel)  # again: nothing more to do
        try:
            return await call()
        finally:
            loop.remove_signal_handler(signal.SIGTERM)
            if scope.cancel_called:  # until the process ends, after its summary
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Terminated
