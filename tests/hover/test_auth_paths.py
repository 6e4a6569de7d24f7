"""Renewable credentials: one renewal for concurrent 401s, renewal before expiry, a 401 that
outlives a renewal, a token endpoint that answers garbage, configuration mistakes."""

from __future__ import annotations

import asyncio
from typing import Any

import anyio
import pytest
from aiohttp import web

from hoverbentley.bentley.client import RealityModelingClient
from hoverbentley.emulator import Emulator, EmulatorConfig
from hoverbentley.emulator.config import BentleyConfig
from hoverbentley.errors import (
    AuthenticationError,
    ConfigurationError,
    DecodeError,
    HoverBentleyError,
)
from hoverbentley.hover.client import HoverClient
from tests.support import FAST, hover_client, reality_modeling, serve

pytestmark = pytest.mark.anyio
JOBS = (15084303, 15254733)
SEED_BENTLEY_JOB = "cc3d35cc-416a-4262-9714-b359da70b419"
SECRET = "cs-auth-SECRET-5150"
SEEN = web.AppKey("seen", list[str])


def oauth(emu: Emulator, **kwargs: Any) -> HoverClient:
    cfg = emu.config
    return hover_client(
        emu,
        client_id=cfg.client_id,
        client_secret=cfg.client_secret,
        refresh_token=cfg.refresh_token,
        **kwargs,
    )


def client_credentials(emu: Emulator) -> RealityModelingClient:
    cfg = emu.config.bentley
    return reality_modeling(
        emu, client_id=cfg.client_id, client_secret=cfg.client_secret, token_url=emu.ims_token_url
    )


async def test_concurrent_401s_share_one_hover_renewal(emu: Emulator) -> None:
    async with oauth(emu) as hover:
        await hover.get_job(JOBS[0])
        emu.expire_access_tokens()
        await asyncio.gather(*(hover.get_job(JOBS[n % 2]) for n in range(8)))
    assert len(emu.requests_to("hover", "/oauth/token")) == 2
    statuses = [r.status for r in emu.requests_to("hover", "/api/v3/jobs/")]
    assert statuses.count(200) == 9 and set(statuses) <= {200, 401}


async def test_concurrent_401s_share_one_bentley_renewal(emu: Emulator) -> None:
    async with client_credentials(emu) as rm:
        await rm.get_job(SEED_BENTLEY_JOB)
        emu.expire_access_tokens()
        await asyncio.gather(*(rm.get_job(SEED_BENTLEY_JOB) for _ in range(8)))
    assert len(emu.requests_to("bentley", "/connect/token")) == 2
    statuses = [r.status for r in emu.requests_to("bentley", "/contextcapture/jobs/")]
    assert statuses.count(200) == 9 and set(statuses) <= {200, 401}


async def test_a_long_lived_hover_token_serves_every_request() -> None:
    async with Emulator(EmulatorConfig(jobs=0, access_token_ttl=7200)) as emu:
        async with oauth(emu) as hover:
            for _ in range(3):
                await hover.get_job(JOBS[0])
        assert len(emu.requests_to("hover", "/oauth/token")) == 1
        assert [r.status for r in emu.requests_to("hover", "/api/v3/jobs/")] == [200] * 3


async def test_hover_token_is_renewed_before_it_expires() -> None:
    """A token near its expiry is replaced before it is used, so the server never has to
    refuse it; before that, it serves every request (no grant per request)."""
    async with Emulator(EmulatorConfig(jobs=0, access_token_ttl=2)) as emu:
        async with oauth(emu) as hover:
            await hover.get_job(JOBS[0])
            await hover.get_job(JOBS[0])
            await anyio.sleep(1.85)  # inside the last tenth of the token's two seconds
            await hover.get_job(JOBS[0])
        assert len(emu.requests_to("hover", "/oauth/token")) == 2
        assert [r.status for r in emu.requests_to("hover", "/api/v3/jobs/")] == [200] * 3


async def test_bentley_token_is_renewed_before_it_expires() -> None:
    config = EmulatorConfig(jobs=0, bentley=BentleyConfig(access_token_ttl=2))
    async with Emulator(config) as emu:
        async with client_credentials(emu) as rm:
            await rm.get_job(SEED_BENTLEY_JOB)
            await rm.get_job(SEED_BENTLEY_JOB)
            await anyio.sleep(1.85)
            await rm.get_job(SEED_BENTLEY_JOB)
        assert len(emu.requests_to("bentley", "/connect/token")) == 2
        assert [r.status for r in emu.requests_to("bentley", "/contextcapture/jobs/")] == [200] * 3


def _token_app(token_answer: web.Response | None, job_statuses: list[int]) -> web.Application:
    """A Hover-like host: ``/oauth/token`` grants (or answers ``token_answer``), the job
    endpoint answers ``job_statuses`` in turn (then 200)."""
    seen: list[str] = []

    async def token(request: web.Request) -> web.Response:
        seen.append("token")
        if token_answer is not None:
            return token_answer
        n = seen.count("token")
        return web.json_response(
            {"access_token": f"at-{n}", "refresh_token": f"rt-{n}", "expires_in": 7200}
        )

    async def job(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization", ""))
        status = job_statuses.pop(0) if job_statuses else 200
        if status != 200:
            return web.json_response({"error": "invalid_token"}, status=status)
        return web.json_response({"id": 1, "models": []})

    app = web.Application()
    app[SEEN] = seen
    app.router.add_post("/oauth/token", token)
    app.router.add_get("/api/v3/jobs/{id}", job)
    return app


def _client(base: str) -> HoverClient:
    return HoverClient(
        client_id="cid",
        client_secret=SECRET,
        refresh_token="rt-0",
        current_user_email="u@example.com",
        base_url=base,
        http=FAST,
    )


async def test_401_that_outlives_a_renewal_is_final() -> None:
    app = _token_app(None, [401, 401, 401])  # a 4th attempt would be answered 200
    async with serve(app) as base, _client(base) as hover:
        with pytest.raises(AuthenticationError) as info:
            await hover.get_job(1)
    assert info.value.status_code == 401
    # The first token, refused; one renewal; the new token, refused too: no more renewals.
    assert app[SEEN] == ["token", "Bearer at-1", "token", "Bearer at-2"]


@pytest.mark.parametrize(
    "answer",
    [
        web.Response(text="<html>Sign in</html>", content_type="text/html"),
        web.Response(body=b"", content_type="application/json"),
        web.json_response({"token": "no access_token field"}),
    ],
    ids=["html", "empty", "wrong-shape"],
)
async def test_token_endpoint_that_answers_garbage(answer: web.Response) -> None:
    app = _token_app(answer, [])
    async with serve(app) as base, _client(base) as hover:
        with pytest.raises(DecodeError) as info:
            await hover.get_job(1)
    assert "/oauth/token" in str(info.value)
    assert SECRET not in str(info.value) and "rt-0" not in str(info.value)
    assert app[SEEN] == ["token"]  # nothing was sent with a token that does not exist


@pytest.mark.parametrize(
    "options",
    [
        {"client_id": "cid", "refresh_token": "rt"},  # no secret
        {"client_id": "cid", "client_secret": "s"},  # neither refresh token nor store
        {},  # no credentials at all
        {"token": "t", "client_id": "cid", "client_secret": "s", "refresh_token": "rt"},
    ],
    ids=["no-secret", "no-refresh-token", "nothing", "both"],
)
async def test_hover_credential_mistakes_fail_before_any_request(options: dict[str, str]) -> None:
    app = _token_app(None, [])
    async with serve(app) as base:
        with pytest.raises(ConfigurationError):
            async with HoverClient(
                current_user_email="u@example.com", base_url=base, http=FAST, **options
            ) as hover:
                await hover.get_job(1)
    assert app[SEEN] == []


@pytest.mark.parametrize(
    "options",
    [{"client_id": "cid"}, {}, {"token": "t", "client_id": "cid", "client_secret": "s"}],
    ids=["no-secret", "nothing", "both"],
)
def test_bentley_credential_mistakes_are_configuration_errors(options: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError):
        RealityModelingClient(base_url="http://127.0.0.1:9", **options)


def test_configuration_errors_are_package_errors() -> None:
    assert issubclass(ConfigurationError, HoverBentleyError)
