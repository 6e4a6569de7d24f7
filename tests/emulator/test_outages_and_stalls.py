"""Outage windows, stalled bodies and the counters of ranged requests (plain aiohttp)."""

from __future__ import annotations

import aiohttp
import pytest

from hoverbentley.emulator import FaultConfig, Outage

from .support import jobs_status, read_until_error, running, signed_url, storage_status

pytestmark = pytest.mark.anyio


async def refused(session: aiohttp.ClientSession, url: str) -> bool:
    """Whether the connection was reset before any answer."""
    try:
        await storage_status(session, url)
    except aiohttp.ClientConnectionError:
        return True
    return False


async def test_a_storage_outage_resets_every_connection_until_it_ends() -> None:
    async with running() as (emu, session):
        url = await signed_url(session, emu, emu.expected_files()[0])
        emu.outage("storage")
        assert emu.outages_active() == ["storage"]
        assert [await refused(session, url) for _ in range(3)] == [True] * 3
        assert await jobs_status(session, emu) == 200  # another host answers
        emu.end_outage("storage")
        assert await storage_status(session, url) == 200
        # aiohttp sends a GET once more after a reset: count what the server saw.
        seen = [r.fault for r in emu.requests_to("storage")]
        assert seen[-1] is None and set(seen[:-1]) == {"outage-reset"} and len(seen) > 3
        assert emu.counters.outage_rejections["storage"] == len(seen) - 1


async def test_an_outage_of_503_answers_for_a_port_covers_its_token_endpoint() -> None:
    async with running() as (emu, session):
        emu.outage("hover", mode="503")
        assert await jobs_status(session, emu) == 503
        async with session.post(f"{emu.hover_url}/oauth/token", data={}) as resp:
            assert resp.status == 503
        emu.end_outage()
        assert await jobs_status(session, emu) == 200
        assert emu.counters.outage_rejections["hover"] == 2


async def test_an_outage_scheduled_after_k_requests() -> None:
    async with running(outages=(Outage("hover", after_requests=2, mode="503"),)) as (emu, s):
        assert [await jobs_status(s, emu) for _ in range(4)] == [200, 200, 503, 503]
        assert emu.counters.outage_rejections["hover"] == 2


async def test_a_timed_outage_ends_by_itself() -> None:
    async with running(outages=(Outage("hover", seconds=0.2, mode="503"),)) as (emu, s):
        statuses = [await jobs_status(s, emu)]
        while statuses[-1] == 503 and len(statuses) < 20_000:
            statuses.append(await jobs_status(s, emu))
        assert statuses[0] == 503 and statuses[-1] == 200
        assert emu.counters.outage_rejections["hover"] == len(statuses) - 1
        assert emu.outages_active() == []


async def test_a_stalled_body_stops_after_part_of_it_with_the_connection_open() -> None:
    stall = FaultConfig(stall=1.0, stall_after=0.25, stall_seconds=60)
    async with running(host_faults={"storage": stall}) as (emu, session):
        item = emu.expected_files()[0]
        url = await signed_url(session, emu, item)
        timeout = aiohttp.ClientTimeout(sock_read=0.3)
        async with session.get(url, timeout=timeout) as resp:
            assert resp.content_length == item.size
            received, error = await read_until_error(resp)
        # The client, not the server, ended it: no byte came after the first quarter.
        assert isinstance(error, TimeoutError)
        assert len(received) == item.size // 4
        assert emu.counters.stalls["storage"] == 1
        assert emu.counters.faults["storage", "stall"] == 1


async def test_ranged_requests_are_counted_by_outcome() -> None:
    async with running() as (emu, session):
        item = emu.expected_files()[0]
        url = await signed_url(session, emu, item)
        cases = [
            ({"Range": "bytes=10-"}, 206),
            ({"Range": "bytes=10-", "If-Range": item.etag}, 206),
            ({"Range": "bytes=10-", "If-Range": '"other"'}, 200),
            ({"Range": f"bytes={item.size}-"}, 416),
            ({"If-Match": '"other"'}, 412),
            ({"If-Match": item.etag, "Range": "bytes=0-9"}, 206),
            ({}, 200),
        ]
        for headers, status in cases:
            assert await storage_status(session, url, headers=headers) == status, headers
        ranged = {status: n for (host, status), n in emu.counters.ranged.items()}
        assert ranged == {206: 3, 200: 1, 416: 1, 412: 1}
        assert {host for host, _ in emu.counters.ranged} == {"storage"}
