"""The bandwidth limit: its schedule, and every body byte going through it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import anyio
import pytest
from aiohttp import web

from hoverbentley._http.bandwidth import Bandwidth
from hoverbentley._http.credentials import ApiScope
from hoverbentley._http.transport import Transport
from hoverbentley.download import download_file
from tests.support import fast, serve

pytestmark = pytest.mark.anyio


async def test_chunks_wait_for_their_turn_of_the_shared_rate() -> None:
    now = [100.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))

    limit = Bandwidth(1000, clock=lambda: now[0], sleep=sleep)
    await limit.take(500)  # the first chunk goes at once
    await limit.take(500)  # the next waits for the first's half second
    await limit.take(1000)  # then for both (a second in all)
    now[0] += 5.0  # idle: nothing is saved up
    await limit.take(2000)
    await limit.take(1)
    assert slept == [0.5, 1.0, 2.0]
    assert limit.bytes == 4001
    with pytest.raises(ValueError, match="> 0"):
        Bandwidth(0)


async def test_every_body_byte_goes_through_the_limit(tmp_path: Path) -> None:
    bodies = {name: bytes([i]) * (384 * 1024) for i, name in enumerate(("a", "b", "c"))}

    async def blob(request: web.Request) -> web.StreamResponse:
        return web.Response(body=bodies[request.match_info["name"]], headers={"ETag": '"1"'})

    app = web.Application()
    app.router.add_get("/{name}", blob)
    async with serve(app) as base:
        transport = Transport(fast(bandwidth_limit=4 * 1024 * 1024), ApiScope("http://api.test"))
        async with transport, anyio.create_task_group() as group:
            for name in bodies:
                group.start_soon(download_file, transport, f"{base}/{name}", tmp_path / name)
    for name, body in bodies.items():
        digest = hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()
        assert digest == hashlib.sha256(body).hexdigest()
    assert transport.bandwidth is not None
    assert transport.bandwidth.bytes == sum(map(len, bodies.values()))


async def test_a_large_read_is_handed_on_in_slots_of_a_tenth_of_a_second(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A body read into buffers of up to 4 MiB is not let through in bursts of a whole
    buffer: each slot of the limit covers at most 100 ms of the rate (here 1 MiB)."""
    body = bytes(range(256)) * (32 * 1024)  # 8 MiB
    taken: list[int] = []
    take = Bandwidth.take

    async def recorded(self: Bandwidth, size: int) -> None:
        taken.append(size)
        await take(self, size)

    monkeypatch.setattr(Bandwidth, "take", recorded)

    async def blob(request: web.Request) -> web.Response:
        return web.Response(body=body, headers={"ETag": '"1"'})

    app = web.Application()
    app.router.add_get("/blob", blob)
    async with serve(app) as base:
        rate = 16 * 1024 * 1024
        transport = Transport(fast(bandwidth_limit=rate), ApiScope("http://api.test"))
        async with transport:
            await download_file(transport, f"{base}/blob", tmp_path / "blob")
    assert (tmp_path / "blob").read_bytes() == body
    assert sum(taken) == len(body)
    assert max(taken) <= 1024 * 1024, max(taken)
    assert Bandwidth(10_000).piece == 16 * 1024  # a slow rate: slots of 16 KiB at least
    assert Bandwidth(2 * 1024 * 1024).piece == 209_715
