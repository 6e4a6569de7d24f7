"""The pool blocking file work runs on: a cancelled caller still waits for its thread."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import anyio
import pytest

from hoverbentley._io.threads import pool, run_blocking

pytestmark = pytest.mark.anyio


async def test_a_cancelled_caller_waits_for_the_write_it_started(tmp_path: Path) -> None:
    started, release = threading.Event(), threading.Event()
    target = tmp_path / "f"

    def write() -> None:
        started.set()
        release.wait(10)
        target.write_bytes(b"whole")

    async with anyio.create_task_group() as group:
        group.start_soon(run_blocking, write)
        await anyio.to_thread.run_sync(started.wait)
        group.cancel_scope.cancel()
        # Released later, from another thread: only a caller that waits sees the file.
        threading.Timer(0.2, release.set).start()
    assert target.read_bytes() == b"whole"


async def test_the_result_and_the_error_of_the_call_reach_the_caller() -> None:
    assert await run_blocking(sum, (1, 2, 3)) == 6
    with pytest.raises(FileNotFoundError):
        await run_blocking(os.stat, "/nonexistent/hoverbentley")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_forked_child_starts_a_pool_of_its_own() -> None:
    parent = pool()
    assert pool() is parent
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child: its pool must not be the parent's thread-less copy
        os.close(read)
        fresh = pool() is not parent and pool().submit(sum, (2, 3)).result(5) == 5
        os.write(write, b"1" if fresh else b"0")
        os._exit(0)
    os.close(write)
    try:
        assert os.read(read, 1) == b"1"
    finally:
        os.close(read)
        os.waitpid(child, 0)
