"""RealityModelingClient against the emulator: paging, filters, auth, errors, job lifecycle."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from functools import partial
from typing import Any

import aiohttp
import pytest

from hoverbentley.bentley import filters as f
from hoverbentley.bentley.base import ACCEPT_V1
from hoverbentley.emulator import Emulator, EmulatorConfig, FaultConfig
from hoverbentley.errors import (
    APITimeoutError,
    AuthenticationError,
    ConfigurationError,
    NotFoundError,
    UnprocessableEntityError,
)
from tests.support import TimedLog, reality_modeling

pytestmark = pytest.mark.anyio
EMULATOR = EmulatorConfig(jobs=0, faults=FaultConfig(retry_after_seconds=1))


@pytest.fixture
def rm(flavour: str) -> Any:
    """reality_modeling in the async or the sync flavour."""
    return partial(reality_modeling, flavour=flavour)


def wire_jobs(emu: Emulator, itwin: str) -> list[str]:
    return [j["id"] for j in emu.bentley_jobs() if j["iTwinId"] == itwin]


async def test_iter_jobs_follows_next_links_exactly_as_returned(emu: Emulator, rm: Any) -> None:
    itwin = emu.itwin_ids[1]
    async with rm(emu) as client:
        ids = [job.id async for job in client.iter_jobs(f.F.itwin_id.eq(itwin), top=7)]
    expected = wire_jobs(emu, itwin)
    assert ids == expected and len(ids) == 40
    pages = emu.requests_to("bentley", "/contextcapture/jobs?")
    assert len(pages) == math.ceil(40 / 7)
    assert all(r.status == 200 for r in pages)
    assert all(r.headers.get("Accept") == ACCEPT_V1 for r in pages)
    tokens = [r.query.get("continuationToken") for r in pages]
    assert tokens[0] is None and all(tokens[1:])


async def test_rendered_filter_selects_what_the_python_predicate_selects(
    emu: Emulator, rm: Any
) -> None:
    itwin = emu.itwin_ids[2]
    since = datetime(2024, 6, 1, tzinfo=timezone.utc)
    expr = (
        f.F.itwin_id.eq(itwin)
        & (f.F.state.eq("success") | f.F.state.in_(["failed", "cancelled"]))
        & f.F.created_date_time.ge(since)
    )
    async with rm(emu) as client:
        ids = {job.id async for job in client.iter_jobs(expr, top=1000)}
    expected = {j["id"] for j in emu.bentley_jobs() if expr.matches(j)}
    assert ids == expected and ids


async def test_filter_without_itwin_lists_the_callers_own_jobs(emu: Emulator, rm: Any) -> None:
    async with rm(emu) as client:
        jobs = [job async for job in client.iter_jobs(f.F.state.eq("success"))]
    assert jobs and {j.email for j in jobs} == {emu.config.bentley.email}


@pytest.mark.parametrize("top", [0, 1001, -5])
async def test_top_out_of_range_fails_before_any_request(emu: Emulator, top: int, rm: Any) -> None:
    async with rm(emu) as client:
        with pytest.raises(ConfigurationError, match=r"\$top"):
            await client.list_jobs(f.F.itwin_id.eq(emu.itwin_ids[0]), top=top)
    assert emu.requests_to("bentley") == []


async def test_server_refuses_top_above_1000_with_the_seed_error(emu: Emulator) -> None:
    url = f"{emu.reality_modeling_url}/jobs"
    params = {"$filter": f"iTwinId eq {emu.itwin_ids[0]}", "$top": "1001"}
    headers = {"Authorization": f"Bearer {emu.config.bentley.token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, params=params, headers=headers) as resp,
    ):
        body = await resp.json()
    assert resp.status == 422
    assert body["error"]["code"] == "InvalidRealityModelingRequest"
    assert body["error"]["details"][0]["target"] == "$Top"


async def test_malformed_filter_is_a_typed_422(emu: Emulator, rm: Any) -> None:
    async with rm(emu) as client:
        with pytest.raises(UnprocessableEntityError) as info:
            await client.list_jobs("state eq 'success' and (", top=10)
    assert info.value.status_code == 422
    assert any(d.target == "$filter" for d in info.value.details)


async def test_unknown_itwin_and_job_are_not_found(emu: Emulator, rm: Any) -> None:
    async with rm(emu) as client:
        with pytest.raises(NotFoundError) as info:
            await client.list_jobs(f.F.itwin_id.eq("00000000-0000-4000-8000-000000000000"))
        assert info.value.code == "iTwinNotFound"
        with pytest.raises(NotFoundError) as info:
            await client.get_job("00000000-0000-4000-8000-000000000001")
        assert info.value.code == "JobNotFound"


async def test_tampered_continuation_token_is_refused(emu: Emulator, rm: Any) -> None:
    itwin = f.F.itwin_id.eq(emu.itwin_ids[1])
    async with rm(emu) as client:
        page = await client.list_jobs(itwin, top=5)
        assert page.next_link
        with pytest.raises(UnprocessableEntityError):
            await client.list_jobs(itwin, top=5, continuation="AAAA" + "x" * 10)
        second = await client.list_jobs(itwin, top=5, continuation=page.next_link)
    assert {j.id for j in second.jobs}.isdisjoint(j.id for j in page.jobs)


async def test_seed_job_is_served_and_decodes(emu: Emulator, rm: Any) -> None:
    async with rm(emu) as client:
        job = await client.get_job("cc3d35cc-416a-4262-9714-b359da70b419")
    assert job.name == "My first Reality Modeling job"
    assert job.job_settings is not None
    assert [o.format for o in job.job_settings.outputs or []] == ["OBJ", "3MX"]


async def test_client_credentials_token_renewed_once_after_401(emu: Emulator, rm: Any) -> None:
    cfg = emu.config.bentley
    async with rm(
        emu, client_id=cfg.client_id, client_secret=cfg.client_secret, token_url=emu.ims_token_url
    ) as client:
        await client.get_job("cc3d35cc-416a-4262-9714-b359da70b419")
        emu.expire_access_tokens()
        await client.get_job("cc3d35cc-416a-4262-9714-b359da70b419")
    grants = emu.requests_to("bentley", "/connect/token")
    assert len(grants) == 2 and all(g.authorization is None for g in grants)
    statuses = [r.status for r in emu.requests_to("bentley", "/contextcapture/jobs/")]
    assert statuses == [200, 401, 200]


@pytest.mark.parametrize("fault", ["truncate", "reset", "500"])
async def test_a_token_grant_cut_short_is_asked_again(emu: Emulator, rm: Any, fault: str) -> None:
    """A client-credentials grant spends nothing: a lost answer is asked for again, where a
    rotating refresh token's grant may not be."""
    cfg = emu.config.bentley
    emu.script("/connect/token", fault)  # type: ignore[arg-type]
    async with rm(
        emu, client_id=cfg.client_id, client_secret=cfg.client_secret, token_url=emu.ims_token_url
    ) as client:
        job = await client.get_job("cc3d35cc-416a-4262-9714-b359da70b419")
    assert job.name == "My first Reality Modeling job"
    grants = emu.requests_to("bentley", "/connect/token")
    assert [g.fault for g in grants] == [fault, None]


async def test_refused_client_credentials_name_the_client_not_the_secret(
    emu: Emulator, rm: Any
) -> None:
    async with rm(
        emu, client_id="wrong-client", client_secret="s3cr3t-value", token_url=emu.ims_token_url
    ) as client:
        with pytest.raises(AuthenticationError) as info:
            await client.get_job("cc3d35cc-416a-4262-9714-b359da70b419")
    assert "wrong-client" in str(info.value)
    assert "s3cr3t-value" not in str(info.value) and "s3cr3t-value" not in repr(info.value)


async def test_429_waits_for_retry_after(rm: Any) -> None:
    emu = Emulator(EMULATOR)  # retry_after_seconds=1
    emu.requests = log = TimedLog()
    async with emu:
        emu.script("/contextcapture/jobs/", "429")
        async with rm(emu) as client:
            await client.get_job("cc3d35cc-416a-4262-9714-b359da70b419")
    sent = [i for i, r in enumerate(log) if "/contextcapture/jobs/" in r.path]
    assert [log[i].status for i in sent] == [429, 200]
    # The retry reached the server the whole Retry-After later (not the 10 ms back-off).
    assert log.arrived[sent[1]] - log.arrived[sent[0]] >= 1.0 - 0.02


async def test_job_lifecycle_create_submit_wait_cancel_delete(emu: Emulator, rm: Any) -> None:
    workspace_itwin = emu.itwin_ids[1]
    async with rm(emu) as client:
        workspace = await client.create_workspace("lifecycle", workspace_itwin)
        body = {
            "type": "Full",
            "name": "lifecycle",
            "workspaceId": workspace.id,
            "inputs": [{"id": "58e0c0ca-f730-4e5b-808d-1c8cacacb4d4"}],
            "settings": {"quality": "Draft", "outputs": ["OBJ", "Cesium 3D Tiles"]},
        }
        job = await client.create_job(body)
        assert job.state == "unsubmitted"
        assert (await client.get_progress(job.id)).state == "Unsubmitted"
        with pytest.raises(ConfigurationError, match="not submitted"):
            await client.wait_for_completion(job.id, intervals=(0,))
        assert (await client.submit_job(job.id)).state == "active"
        seen: list[float] = []
        done = await client.wait_for_completion(
            job.id, intervals=(0.001, 0.002), on_progress=lambda p: seen.append(p.percentage)
        )
        assert done.state == "success"
        assert done.job_settings is not None
        assert all(o.id for o in done.job_settings.outputs or [])
        assert seen == sorted(seen) and seen[-1] == 100
        with pytest.raises(UnprocessableEntityError):
            await client.delete_job(job.id)
        other = await client.create_job(body)
        assert (await client.cancel_job(other.id)).state == "cancelled"
        third = await client.create_job(body)
        await client.delete_job(third.id)
        with pytest.raises(NotFoundError):
            await client.get_job(third.id)
        limits = await client.engine_limits(workspace_itwin)
        assert limits.max_engines == 10
        await client.delete_workspace(workspace.id)
        with pytest.raises(NotFoundError):
            await client.get_workspace(workspace.id)


async def test_wait_for_completion_times_out(emu: Emulator, rm: Any) -> None:
    async with rm(emu) as client:
        job = next(j for j in emu.bentley_jobs() if j["state"] == "active")
        with pytest.raises(APITimeoutError, match="still running"):
            await client.wait_for_completion(job["id"], intervals=(5,), max_wait=0.5)


async def test_create_job_missing_fields_is_a_detailed_422(emu: Emulator, rm: Any) -> None:
    async with rm(emu) as client:
        with pytest.raises(UnprocessableEntityError) as info:
            await client.create_job({"name": "incomplete"})
    targets = {d.target for d in info.value.details}
    assert {"type", "workspaceId", "inputs", "settings"} <= targets
