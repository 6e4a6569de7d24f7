"""``python -m benchmarks.contenders.with_uvloop MODULE ARGS...``: run MODULE on uvloop.

anyio's asyncio backend builds its loop from the event loop policy, so installing uvloop's
policy first is what a CLI that picks up uvloop by itself would do.
"""

from __future__ import annotations

import asyncio
import runpy
import sys

import uvloop

if __name__ == "__main__":
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    module, *rest = sys.argv[1:]
    sys.argv = [module, *rest]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
