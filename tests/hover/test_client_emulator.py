"""HoverClient against the emulator: paging, fan-out, OAuth, the current-user rule, retries."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
import pytest

from hoverbentley._http.credentials import ApiScope
from hoverbentley._http.transport import Transport
from hoverbentley.auth import JsonFileTokenStore, StaticToken
from hoverbentley.config import HttpConfig
from hoverbentley.emulator import Emulator, EmulatorConfig
from hoverbentley.errors import (
    APIConnectionError,
    ConfigurationError,
    NotFoundError,
    ReauthorizationRequired,
    ServerError,
    UnprocessableEntityError,
)
from tests.seeds import hover_samples
from tests.support import FAST, hover_client, user_email

pytestmark = pytest.mark.anyio
EMULATOR = EmulatorConfig(jobs=23)


@pytest.fixture
def client(flavour: str) -> Any:
    """hover_client in the async or the sync flavour."""
    return partial(hover_client, flavour=flavour)


@pytest.mark.parametrize("envelope", ["v3", "v2"])
async def test_iter_jobs_pages_through_both_envelopes(envelope: str, client: Any) -> None:
    async with Emulator(EmulatorConfig(jobs=23, list_envelope=envelope)) as emu:  # type: ignore[arg-type]
        async with client(emu, page_size=4) as hover:
            visible = [j.id async for j in hover.iter_jobs()]
            everything = [j.id async for j in hover.iter_jobs(archived=True)]
        pages = emu.requests_to("hover", "/api/v3/jobs?")
    assert visible == emu.job_ids(archived=False)
    assert everything == emu.job_ids() and len(everything) > len(visible)
    assert all(r.query["per"] == "4" for r in pages)
    assert len(pages) == -(-len(visible) // 4) + -(-len(everything) // 4)


async def test_seed_payloads_are_served_exactly(emu: Emulator, client: Any) -> None:
    """What the emulator serves for the two seed jobs is the seed document's sample."""
    for job_id, sample in hover_samples().items():
        expected = json.loads(json.dumps(sample).replace("https://hover.to", emu.hover_url))
        assert emu.job_payload(job_id) == expected
    async with client(emu) as hover:
        job = await hover.get_job(15254733)
    assert [m.id for m in job.models] == [15252194, 15252133]


async def test_get_jobs_reports_errors_per_id(emu: Emulator, client: Any) -> None:
    ids = [15084303, 999, 15254733, 998]
    async with client(emu) as hover:
        results = await hover.get_jobs(ids, concurrency=3)
    assert [r.job_id for r in results] == ids
    assert [r.record is not None for r in results] == [True, False, True, False]
    assert all(isinstance(r.error, NotFoundError) for r in results if r.record is None)


async def test_ids_that_are_no_hover_ids_cost_their_own_result_and_send_nothing(
    emu: Emulator, client: Any
) -> None:
    ids: list[Any] = [15084303, "15254733x", 15084303.7, True, 0, "15254733"]
    async with client(emu) as hover:
        before = len(emu.requests_to("hover", "/api/v3/jobs/"))
        results = await hover.get_jobs(ids)
        sent = emu.requests_to("hover", "/api/v3/jobs/")[before:]
        with pytest.raises(ConfigurationError, match=r"not a webhook id: 'x'"):
            await hover.delete_webhook("x")  # type: ignore[arg-type]
    assert [r.job_id for r in results] == ids
    assert [r.record.job.id if r.record else None for r in results] == [
        15084303,
        None,
        None,
        None,
        None,
        15254733,
    ]
    for result, shown in zip(results[1:5], ["'15254733x'", "15084303.7", "True", "0"], strict=True):
        assert isinstance(result.error, ConfigurationError)
        assert str(result.error).startswith(f"not a job id: {shown} (Hover job ids are whole")
    assert sorted(r.path for r in sent) == ["/api/v3/jobs/15084303", "/api/v3/jobs/15254733"]


@pytest.mark.parametrize("concurrency", [0, 1.5, True])
async def test_get_jobs_takes_a_whole_concurrency(
    emu: Emulator, client: Any, concurrency: Any
) -> None:
    async with client(emu) as hover:
        with pytest.raises(ConfigurationError, match="concurrency must be a whole number >= 1"):
            await hover.get_jobs([15084303], concurrency=concurrency)


async def test_one_state_may_be_given_as_a_string(emu: Emulator, client: Any) -> None:
    async with client(emu, page_size=50) as hover:
        one = [j.id async for j in hover.iter_jobs(states="completed")]
        listed = [j.id async for j in hover.iter_jobs(states=["completed"])]
        with pytest.raises(ConfigurationError, match="updated_since must be a datetime"):
            [j async for j in hover.iter_jobs(updated_since="yesterday")]  # type: ignore[arg-type]
    assert one == listed and one
    first, second = (r.query_string for r in emu.requests_to("hover", "/api/v3/jobs?")[-2:])
    states = [v for k, v in parse_qsl(first) if k == "reconstruction_states[]"]
    assert states == ["completed"] and first == second


async def test_the_current_user_rule(emu: Emulator, client: Any) -> None:
    url = f"{emu.hover_url}/api/v3/jobs/15084303"
    headers = {"Authorization": f"Bearer {emu.config.token}"}
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as resp:
        assert resp.status == 422
    # Through the transport with no current user configured: a typed 422 that says why.
    async with Transport(FAST, ApiScope(emu.hover_url, auth=StaticToken(emu.config.token))) as bare:
        with pytest.raises(UnprocessableEntityError, match="current_user"):
            await bare.request("GET", "/api/v3/jobs/15084303")
    async with client(emu) as hover:
        await hover.get_job(15084303)
    sent = emu.requests_to("hover", "/api/v3/jobs/15084303")[-1]
    assert sent.query["current_user_email"] == user_email(emu)


async def test_expired_access_token_is_renewed_once_and_rotation_persisted(
    emu: Emulator, tmp_path: Path, client: Any
) -> None:
    store = JsonFileTokenStore(tmp_path / "t.json")
    cfg = emu.config
    async with client(
        emu,
        client_id=cfg.client_id,
        client_secret=cfg.client_secret,
        refresh_token=cfg.refresh_token,
        token_store=store,
    ) as hover:
        await hover.get_job(15084303)
        emu.expire_access_tokens()
        await hover.get_job(15084303)
    grants = emu.requests_to("hover", "/oauth/token")
    assert len(grants) == 2
    assert [r.status for r in emu.requests_to("hover", "/api/v3/jobs/")] == [200, 401, 200]
    saved = await store.load()
    assert saved is not None and saved.refresh_token == emu.refresh_token != cfg.refresh_token
    # A second process starts from the store alone: the used refresh token is never sent again.
    async with client(
        emu, client_id=cfg.client_id, client_secret=cfg.client_secret, token_store=store
    ) as hover:
        emu.expire_access_tokens()
        await hover.get_job(15254733)
    assert (await store.load()).refresh_token == emu.refresh_token  # type: ignore[union-attr]


async def test_refused_refresh_token_means_reauthorize(emu: Emulator, client: Any) -> None:
    cfg = emu.config
    async with client(
        emu, client_id=cfg.client_id, client_secret=cfg.client_secret, refresh_token="already-used"
    ) as hover:
        with pytest.raises(ReauthorizationRequired, match="authorize"):
            await hover.get_job(15084303)


async def test_retries_then_exhaustion(emu: Emulator, client: Any) -> None:
    emu.script("/api/v3/jobs/15084303", "503", "429-no-retry-after")
    async with client(emu) as hover:
        await hover.get_job(15084303)
        assert len(emu.requests_to("hover", "/api/v3/jobs/15084303")) == 3
        emu.script("/api/v3/jobs/15254733", "500", "500", "500", "500")
        with pytest.raises(ServerError) as info:
            await hover.get_job(15254733)
    assert info.value.status_code == 500
    assert len(emu.requests_to("hover", "/api/v3/jobs/15254733")) == FAST.max_retries + 1


async def test_download_resumes_after_a_reset_and_restarts_after_a_change(
    tmp_path: Path, client: Any
) -> None:
    big = "/api/v3/models/15081683/artifacts/cad_export.dwg"
    async with Emulator(EmulatorConfig(jobs=0, size_overrides={big: 6 * 1024 * 1024})) as emu:
        url = emu.hover_url + big
        async with client(emu) as hover:
            emu.script("/files/", "reset")
            result = await hover.download(url, tmp_path / "a.dwg")
            assert result.sha256 == emu.expected_file(url).sha256
            storage = emu.requests_to("storage")
            assert storage[0].fault == "reset" and storage[1].range is not None
            assert result.received < 1.6 * result.size and result.resumed_from == 0

            # A partial file whose source changed is started over (If-Range no longer matches).
            part = tmp_path / "b.dwg.part"
            emu.script("/files/", "reset")
            with pytest.raises(
                APIConnectionError, match="the connection closed after"
            ):  # no retries
                async with client(
                    emu, http=HttpConfig(requests_per_minute=None, max_retries=0)
                ) as once:
                    await once.download(url, tmp_path / "b.dwg")
            assert part.exists() and part.stat().st_size > 0
            emu.change_file(url)
            result = await hover.download(url, tmp_path / "b.dwg")
        assert result.sha256 == emu.expected_file(url).sha256
        assert emu.requests_to("storage")[-1].status == 200  # the whole new file
        assert not part.exists()
