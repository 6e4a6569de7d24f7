"""Per-host fault settings, the fault mix, and the cap on faults in a row (plain aiohttp)."""

from __future__ import annotations

import aiohttp
import pytest

from hoverbentley.emulator import FaultConfig

from .support import (
    api_url,
    bearer,
    jobs_status,
    read_until_error,
    running,
    signed_url,
    storage_status,
)

pytestmark = pytest.mark.anyio
ALWAYS_500 = FaultConfig(error_500=1.0)


async def ims_status(session: aiohttp.ClientSession, url: str, client: tuple[str, str]) -> int:
    form = {"grant_type": "client_credentials", "client_id": client[0], "client_secret": client[1]}
    async with session.post(url, data=form) as resp:
        await resp.read()
        return resp.status


async def test_storage_faults_leave_the_api_alone_and_are_counted_by_host() -> None:
    async with running(host_faults={"storage": ALWAYS_500}) as (emu, session):
        item = emu.expected_files()[0]
        assert [await jobs_status(session, emu) for _ in range(3)] == [200] * 3
        url = await signed_url(session, emu, item)
        assert [await storage_status(session, url) for _ in range(4)] == [500] * 4
        assert emu.counters.faults["storage", "500"] == 4
        assert emu.counters.faults_of("hover") == 0


async def test_faults_change_per_host_at_run_time() -> None:
    async with running() as (emu, session):
        assert await jobs_status(session, emu) == 200
        emu.set_faults("hover", FaultConfig(error_503=1.0))
        assert await jobs_status(session, emu) == 503
        emu.set_faults("hover", None)
        assert await jobs_status(session, emu) == 200
        assert emu.counters.faults["hover", "503"] == 1


async def test_token_endpoints_have_faults_of_their_own_on_both_ports() -> None:
    async with running(host_faults={"tokens": FaultConfig(error_503=1.0)}) as (emu, session):
        bentley = emu.config.bentley
        client = (bentley.client_id, bentley.client_secret)
        assert await ims_status(session, emu.ims_token_url, client) == 503
        async with session.post(f"{emu.hover_url}/oauth/token", data={}) as resp:
            assert resp.status == 503
        assert await jobs_status(session, emu) == 200
        headers = {"Authorization": f"Bearer {bentley.token}"}
        jobs = f"{emu.reality_modeling_url}/jobs?$filter=state eq 'success'"
        async with session.get(jobs, headers=headers) as resp:
            assert resp.status == 200
        assert emu.counters.faults["tokens", "503"] == 2


async def test_reality_management_faults_apart_from_reality_modeling() -> None:
    async with running(host_faults={"reality": ALWAYS_500}) as (emu, session):
        headers = {"Authorization": f"Bearer {emu.config.bentley.token}"}
        async with session.get(f"{emu.reality_management_url}/", headers=headers) as resp:
            assert resp.status == 500
        jobs = f"{emu.reality_modeling_url}/jobs?$filter=state eq 'success'"
        async with session.get(jobs, headers=headers) as resp:
            assert resp.status == 200


async def test_never_more_than_n_faults_in_a_row_on_one_resource() -> None:
    capped = FaultConfig(error_500=1.0, max_in_a_row=3)
    async with running(host_faults={"storage": capped}) as (emu, session):
        first, second = emu.expected_files()[:2]
        url = await signed_url(session, emu, first)
        statuses = [await storage_status(session, url) for _ in range(8)]
        assert statuses == [500, 500, 500, 200, 500, 500, 500, 200]
        # A fresh signature names the same resource: the streak goes on.
        again = await signed_url(session, emu, first)
        assert [await storage_status(session, again) for _ in range(4)] == [500] * 3 + [200]
        other = await signed_url(session, emu, second)
        assert await storage_status(session, other) == 500


@pytest.mark.parametrize(("share", "announced"), [(1.0, True), (0.0, False)])
async def test_429_with_and_without_retry_after(share: float, announced: bool) -> None:
    faults = FaultConfig(rate_limit=1.0, retry_after_share=share, retry_after_seconds=7)
    async with running(host_faults={"hover": faults}) as (emu, session):
        url = api_url(emu, f"{emu.hover_url}/api/v3/jobs")
        async with session.get(url, headers=bearer(emu)) as resp:
            assert resp.status == 429
            assert resp.headers.get("Retry-After") == ("7" if announced else None)
        kind = "429" if announced else "429-no-retry-after"
        assert emu.counters.faults["hover", kind] == 1


@pytest.mark.parametrize("kind", ["reset", "truncate"])
async def test_bodies_cut_mid_way_announce_their_full_length(kind: str) -> None:
    async with running(host_faults={"storage": FaultConfig(**{kind: 1.0})}) as (emu, session):
        item = emu.expected_files()[0]
        url = await signed_url(session, emu, item)
        async with session.get(url) as resp:
            assert resp.status == 200
            assert resp.content_length == item.size
            received, error = await read_until_error(resp)
        assert isinstance(error, aiohttp.ClientPayloadError)
        assert 0 < len(received) < item.size
        assert emu.counters.faults["storage", kind] == 1
        assert emu.requests_to("storage")[-1].fault == kind


@pytest.mark.parametrize("host", ["hover", "tokens"])
async def test_api_answers_are_truncated_too(host: str) -> None:
    async with running(host_faults={host: FaultConfig(truncate=1.0)}) as (emu, session):
        if host == "hover":
            request = session.get(api_url(emu, f"{emu.hover_url}/api/v3/jobs"), headers=bearer(emu))
        else:
            request = session.post(f"{emu.hover_url}/oauth/token", data={"grant_type": "x"})
        async with request as resp:
            announced = resp.content_length
            received, error = await read_until_error(resp)
        assert isinstance(error, aiohttp.ClientPayloadError)
        assert announced is not None and 0 < len(received) < announced
        assert emu.counters.faults[host, "truncate"] == 1
