"""Retry budgets per host, time budgets, outages, stalls and changed blobs, on real servers.

Each test runs small aiohttp servers on loopback and asserts on what the client returned and
what the servers saw.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest
from aiohttp import web

from hoverbentley import HoverClient
from hoverbentley._http.credentials import ApiScope
from hoverbentley._http.hops import origin_of
from hoverbentley._http.transport import Transport
from hoverbentley.config import HttpConfig
from hoverbentley.download import download_file
from hoverbentley.errors import (
    AuthenticationError,
    HostUnavailableError,
    ReauthorizationRequired,
    RedirectError,
    ServerError,
)
from tests.support import serve

pytestmark = pytest.mark.anyio

BODY = bytes(range(256)) * (8 * 1024)  # 2 MiB: larger than one write batch
ETAG = '"v1"'


def _config(**values: object) -> HttpConfig:
    settings: dict[str, object] = {
        "requests_per_minute": None,
        "backoff_base": 0.01,
        "backoff_max": 0.02,
        **values,
    }
    return HttpConfig(**settings)  # type: ignore[arg-type]


@asynccontextmanager
async def _app(routes: dict[str, web.Handler]) -> AsyncIterator[str]:
    app = web.Application()
    for path, handler in routes.items():
        app.router.add_get(path, handler)
    async with serve(app) as base:
        yield base


async def test_api_and_storage_faults_spend_separate_budgets(tmp_path: Path) -> None:
    """API 503 twice and storage 500 three times, alternating: within 3 retries per host."""
    api_calls = itertools.count(1)
    storage_calls = itertools.count(1)
    seen: list[str] = []

    async def blob(request: web.Request) -> web.StreamResponse:
        seen.append("storage")
        if next(storage_calls) <= 3:
            return web.Response(status=500)
        return web.Response(body=b"payload", headers={"ETag": ETAG})

    async with _app({"/blob": blob}) as storage:

        async def file(request: web.Request) -> web.StreamResponse:
            seen.append("api")
            if next(api_calls) in (1, 3):
                return web.Response(status=503)
            raise web.HTTPFound(f"{storage}/blob")

        async with _app({"/file": file}) as api:
            transport = Transport(_config(max_retries=3), ApiScope(api))
            async with transport:
                result = await download_file(transport, f"{api}/file", tmp_path / "f")
    assert result.path.read_bytes() == b"payload"
    assert seen.count("api") == 6 and seen.count("storage") == 4  # 5 faults, none given up on


async def test_the_time_budget_stops_retries_that_would_outlast_it() -> None:
    hits: list[int] = []

    async def busy(request: web.Request) -> web.StreamResponse:
        hits.append(1)
        return web.Response(status=503, headers={"Retry-After": "2"})

    async with _app({"/x": busy}) as base:
        transport = Transport(_config(max_retries=5, retry_for=1.0), ApiScope(base))
        async with transport:
            with pytest.raises(ServerError, match="HTTP 503"):
                await transport.request("GET", "/x")
    assert len(hits) == 1  # waiting 2 s would leave the 1 s budget: no second attempt


async def test_an_outage_holds_requests_without_spending_their_retries(tmp_path: Path) -> None:
    """Storage answers only 503 for its first 1.5 s: 20 downloads with one retry each survive."""
    started: list[float] = []
    statuses: list[int] = []

    async def blob(request: web.Request) -> web.StreamResponse:
        now = asyncio.get_running_loop().time()
        started.append(now)
        if now - started[0] < 1.5:
            statuses.append(503)
            return web.Response(status=503)
        statuses.append(200)
        return web.Response(body=request.match_info["name"].encode(), headers={"ETag": ETAG})

    async with _app({"/b/{name}": blob}) as base:
        transport = Transport(_config(max_retries=1, max_outage=30), ApiScope("http://api.test"))
        async with transport, anyio.create_task_group() as group:
            for i in range(20):
                group.start_soon(download_file, transport, f"{base}/b/{i}", tmp_path / str(i))
        waited = transport.health.past_outages[origin_of(base)]
    assert sorted(p.read_bytes() for p in tmp_path.iterdir()) == sorted(
        str(i).encode() for i in range(20)
    )
    assert statuses.count(200) == 20
    assert statuses.count(503) < 40  # the held requests did not hammer the host
    assert waited > 0


async def test_an_outage_longer_than_the_limit_fails_cleanly(tmp_path: Path) -> None:
    async def down(request: web.Request) -> web.StreamResponse:
        return web.Response(status=503)

    async with _app({"/b/{name}": down}) as base:
        transport = Transport(_config(max_retries=1, max_outage=1.0), ApiScope("http://api.test"))
        errors: list[BaseException] = []

        async def fetch(i: int) -> None:
            try:
                await download_file(transport, f"{base}/b/{i}", tmp_path / str(i))
            except Exception as exc:
                errors.append(exc)

        async with transport, anyio.create_task_group() as group:
            for i in range(12):
                group.start_soon(fetch, i)
    assert len(errors) == 12
    unavailable = [e for e in errors if isinstance(e, HostUnavailableError)]
    assert unavailable and all("has not answered" in str(e) for e in unavailable)
    assert not [p for p in tmp_path.iterdir() if not p.name.endswith((".part", ".json"))]


async def test_a_stalled_body_is_cut_and_resumed_from_where_it_stopped(tmp_path: Path) -> None:
    ranges: list[str | None] = []

    async def blob(request: web.Request) -> web.StreamResponse:
        ranges.append(request.headers.get("Range"))
        if request.headers.get("Range"):
            offset = int(request.headers["Range"].removeprefix("bytes=").rstrip("-"))
            return web.Response(
                status=206,
                body=BODY[offset:],
                headers={
                    "ETag": ETAG,
                    "Content-Range": f"bytes {offset}-{len(BODY) - 1}/{len(BODY)}",
                },
            )
        response = web.StreamResponse(headers={"ETag": ETAG, "Content-Length": str(len(BODY))})
        await response.prepare(request)
        await response.write(BODY[: 1536 * 1024])
        await asyncio.sleep(30)  # the connection stays open, no byte flows
        return response

    async with _app({"/b": blob}) as base:
        transport = Transport(_config(stall_timeout=0.3), ApiScope("http://api.test"))
        async with transport:
            result = await download_file(transport, f"{base}/b", tmp_path / "f")
    assert result.sha256 == hashlib.sha256(BODY).hexdigest()
    assert ranges[0] is None and len(ranges) == 2
    assert ranges[1] is not None and result.resumed_from == 0 and result.received < 2 * len(BODY)


async def test_a_changed_blob_is_never_spliced_onto_a_partial_file(tmp_path: Path) -> None:
    """The server ignores If-Range and serves a new version in its 206: start over."""
    new = BODY[::-1]
    ranges: list[str | None] = []

    async def blob(request: web.Request) -> web.StreamResponse:
        ranges.append(request.headers.get("Range"))
        if len(ranges) == 1:
            response = web.StreamResponse(headers={"ETag": ETAG, "Content-Length": str(len(BODY))})
            await response.prepare(request)
            await response.write(BODY[: 1536 * 1024])
            await asyncio.sleep(0.5)  # let the client read it: aiohttp drops what it buffered
            request.transport.close()  # type: ignore[union-attr]
            return response
        if request.headers.get("Range"):
            offset = int(request.headers["Range"].removeprefix("bytes=").rstrip("-"))
            return web.Response(
                status=206,
                body=new[offset:],
                headers={
                    "ETag": '"v2"',
                    "Content-Range": f"bytes {offset}-{len(new) - 1}/{len(new)}",
                },
            )
        return web.Response(body=new, headers={"ETag": '"v2"'})

    async with _app({"/b": blob}) as base:
        transport = Transport(_config(), ApiScope("http://api.test"))
        async with transport:
            result = await download_file(transport, f"{base}/b", tmp_path / "f")
    assert result.sha256 == hashlib.sha256(new).hexdigest()
    assert (tmp_path / "f").read_bytes() == new
    assert len(ranges) == 3 and ranges[1] is not None and ranges[2] is None


async def test_a_redirect_without_location_is_a_redirect_error() -> None:
    async def bad(request: web.Request) -> web.StreamResponse:
        return web.Response(status=302)

    async with _app({"/x": bad}) as base:
        transport = Transport(_config(), ApiScope(base))
        async with transport:
            with pytest.raises(RedirectError, match="without a Location header"):
                await transport.request("GET", "/x")


@pytest.mark.parametrize(
    ("error", "raised", "words"),
    [
        ("invalid_client", AuthenticationError, "rejected the client credentials"),
        ("invalid_grant", ReauthorizationRequired, "must authorize the application again"),
    ],
)
async def test_a_refused_token_grant_says_which_credential_was_wrong(
    error: str, raised: type[Exception], words: str
) -> None:
    app = web.Application()

    async def token(request: web.Request) -> web.StreamResponse:
        return web.json_response({"error": error}, status=401 if error == "invalid_client" else 400)

    app.router.add_post("/oauth/token", token)
    async with serve(app) as base:
        client = HoverClient(
            client_id="id",
            client_secret="wrong-secret-123",
            refresh_token="refresh-123456",
            current_user_email="a@example.com",
            base_url=base,
            http=_config(),
        )
        async with client:
            with pytest.raises(raised, match=words) as caught:
                await client.get_job(1)
    assert type(caught.value) is raised
    assert "wrong-secret-123" not in str(caught.value)
