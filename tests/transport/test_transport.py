from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web

from hoverbentley._http.credentials import ApiScope
from hoverbentley._http.transport import Transport
from hoverbentley.auth import StaticToken
from hoverbentley.config import HttpConfig
from hoverbentley.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    HoverBentleyError,
    RateLimitError,
    RedirectError,
    ServerError,
    UnreachableHostError,
)
from tests.processes import free_port
from tests.support import fast, serve

pytestmark = pytest.mark.anyio

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
FAST = fast(max_retries=3, read_timeout=2)
#: How far asyncio's sleep may undershoot on a coarse clock.
CLOCK_SLACK = 0.02


class Recorder:
    """Every request a test server saw, its headers and when it arrived (monotonic clock)."""

    def __init__(self) -> None:
        self.requests: list[web.Request] = []
        self.headers: list[dict[str, str]] = []
        self.arrived: list[float] = []

    def add(self, request: web.Request) -> None:
        self.requests.append(request)
        self.headers.append(dict(request.headers))
        self.arrived.append(time.monotonic())


async def _server(routes: dict[str, Handler]) -> tuple[web.Application, Recorder]:
    rec = Recorder()
    app = web.Application()
    for path, handler in routes.items():

        async def wrapped(request: web.Request, handler: Handler = handler) -> web.StreamResponse:
            rec.add(request)
            return await handler(request)

        app.router.add_route("*", path, wrapped)
    return app, rec


def _transport(base: str, config: HttpConfig = FAST, **scope: object) -> Transport:
    return Transport(config, ApiScope(base, **scope))  # type: ignore[arg-type]


async def test_retries_5xx_then_succeeds() -> None:
    calls = iter([500, 503, 200])

    async def handler(request: web.Request) -> web.Response:
        return web.json_response({"ok": True}, status=next(calls))

    app, rec = await _server({"/x": handler})
    async with serve(app) as base, _transport(base) as t:
        response = await t.request("GET", "/x")
    assert response.status == 200
    assert len(rec.requests) == 3


async def test_retry_exhaustion_raises_the_last_status() -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response({"error": "boom"}, status=502)

    app, rec = await _server({"/x": handler})
    async with serve(app) as base, _transport(base) as t:
        with pytest.raises(ServerError, match="HTTP 502 boom") as info:
            await t.request("GET", "/x")
    assert info.value.status_code == 502
    assert len(rec.requests) == FAST.max_retries + 1


async def test_post_is_not_retried_on_5xx_but_is_on_429() -> None:
    statuses = iter([429, 500])

    async def handler(request: web.Request) -> web.Response:
        return web.json_response({}, status=next(statuses), headers={"Retry-After": "0"})

    app, rec = await _server({"/x": handler})
    async with serve(app) as base, _transport(base) as t:
        with pytest.raises(ServerError):
            await t.request("POST", "/x", json={"a": 1})
    assert len(rec.requests) == 2


async def test_429_honours_retry_after() -> None:
    statuses = iter([429, 200])

    async def handler(request: web.Request) -> web.Response:
        return web.json_response({}, status=next(statuses), headers={"Retry-After": "1"})

    app, rec = await _server({"/x": handler})
    async with serve(app) as base, _transport(base) as t:
        await t.request("GET", "/x")
    assert len(rec.requests) == 2
    # The retry reached the server a whole Retry-After later, not after the 10 ms back-off.
    assert rec.arrived[1] - rec.arrived[0] >= 1.0 - CLOCK_SLACK


async def test_429_exhaustion_is_a_rate_limit_error() -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response({"message": "Rate Limit Exceeded"}, status=429)

    app, _ = await _server({"/x": handler})
    async with serve(app) as base, _transport(base) as t:
        with pytest.raises(RateLimitError, match="Rate Limit Exceeded"):
            await t.request("GET", "/x")


async def test_connection_refused_on_first_contact_fails_at_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    base = f"http://127.0.0.1:{free_port()}"
    async with _transport(base, HttpConfig(max_retries=3, backoff_base=5.0)) as t:
        with (
            caplog.at_level(logging.INFO, logger="hoverbentley"),
            pytest.raises(UnreachableHostError, match="refused the connection") as caught,
        ):
            await t.request("GET", "/x")
    assert caught.value.host == base
    assert not [r for r in caplog.records if r.getMessage().startswith("retrying")]


async def test_connection_refused_after_the_host_answered_is_retried(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app, _ = await _server({"/x": ok})
    config = HttpConfig(max_retries=2, backoff_base=0.01, backoff_max=0.02)
    async with serve(app) as base:
        t = _transport(base, config)
        await t.request("GET", "/x")
    try:  # the server is gone: an outage of a host that answered, not a setting to correct
        with (
            caplog.at_level(logging.INFO, logger="hoverbentley"),
            pytest.raises(APIConnectionError, match="connection failed") as caught,
        ):
            await t.request("GET", "/x")
    finally:
        await t.aclose()
    assert not isinstance(caught.value, UnreachableHostError)
    assert len([r for r in caplog.records if r.getMessage().startswith("retrying")]) == 2


async def test_connection_closed_before_an_answer_is_retried_then_raised() -> None:
    accepted = 0

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal accepted
        accepted += 1
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    async with server:
        # One attempt without retries (aiohttp itself may reconnect once), then with them.
        async with _transport(base, fast(max_retries=0)) as once:
            with pytest.raises(APIConnectionError, match="connection failed"):
                await once.request("GET", "/x")
        per_attempt, accepted = accepted, 0
        async with _transport(base) as t:
            with pytest.raises(APIConnectionError, match="connection failed"):
                await t.request("GET", "/x")
    assert per_attempt >= 1
    assert accepted == (FAST.max_retries + 1) * per_attempt


async def test_server_that_never_answers_times_out() -> None:
    abandoned: list[int] = []

    async def handler(request: web.Request) -> web.Response:
        # Never answer; note when the client hangs up on this request.
        while request.transport is not None and not request.transport.is_closing():
            await asyncio.sleep(0.01)
        abandoned.append(len(abandoned))
        return web.Response()

    app, rec = await _server({"/x": handler})
    config = HttpConfig(max_retries=1, backoff_base=0.01, read_timeout=0.3)
    async with serve(app) as base, _transport(base, config) as t:
        with pytest.raises(APITimeoutError, match="read timeout"):
            await t.request("GET", "/x")
        # Both attempts were given up by the client (read timeout), neither answered.
        while len(abandoned) < 2:
            await asyncio.sleep(0.01)
    assert len(rec.requests) == 2 and len(abandoned) == 2


async def test_auth_and_scope_params_go_to_the_api_host_only() -> None:
    async def storage(request: web.Request) -> web.Response:
        return web.Response(body=b"file")

    storage_app, storage_rec = await _server({"/blob": storage})
    async with serve(storage_app) as storage_base:

        async def api(request: web.Request) -> web.Response:
            raise web.HTTPFound(f"{storage_base}/blob?sig=abc")

        api_app, api_rec = await _server({"/file": api})
        async with (
            serve(api_app) as base,
            _transport(
                base, auth=StaticToken("sekrit-token"), params={"current_user_email": "a@b.c"}
            ) as t,
        ):
            response = await t.request("GET", "/file?version=v2")
    assert response.body == b"file"
    assert api_rec.headers[0]["Authorization"] == "Bearer sekrit-token"
    assert api_rec.requests[0].query["current_user_email"] == "a@b.c"
    assert api_rec.requests[0].query["version"] == "v2"
    assert "Authorization" not in storage_rec.headers[0]
    assert "current_user_email" not in storage_rec.requests[0].query
    assert storage_rec.requests[0].query["sig"] == "abc"


async def test_same_origin_redirect_keeps_credentials() -> None:
    async def first(request: web.Request) -> web.Response:
        raise web.HTTPFound("/second")

    async def second(request: web.Request) -> web.Response:
        return web.json_response({})

    app, rec = await _server({"/first": first, "/second": second})
    async with (
        serve(app) as base,
        _transport(base, auth=StaticToken("tok-123456"), params={"current_user_id": "9"}) as t,
    ):
        await t.request("GET", "/first")
    assert rec.headers[1]["Authorization"] == "Bearer tok-123456"
    assert rec.requests[1].query["current_user_id"] == "9"


@pytest.mark.parametrize(
    ("location", "message"),
    [
        ("/loop", "redirect loop"),
        ("ftp://127.0.0.1/x", "non-HTTP scheme"),
        ("", "without a Location"),
    ],
)
async def test_bad_redirects_are_refused(location: str, message: str) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": location})

    app, _ = await _server({"/loop": handler})
    async with serve(app) as base, _transport(base) as t:
        with pytest.raises(RedirectError, match=message):
            await t.request("GET", "/loop")


async def test_401_renews_credentials_once() -> None:
    class Rotating:
        def __init__(self) -> None:
            self.value = "Bearer old-token-1"
            self.refreshes = 0

        async def authorization(self, transport: Transport) -> str:
            return self.value

        async def refresh(self, transport: Transport, rejected: str) -> bool:
            self.refreshes += 1
            self.value = "Bearer new-token-2"
            return True

    async def handler(request: web.Request) -> web.Response:
        if request.headers["Authorization"] != "Bearer new-token-2":
            return web.json_response({"error": "unauthorized"}, status=401)
        return web.json_response({"ok": 1})

    auth = Rotating()
    app, rec = await _server({"/x": handler})
    async with serve(app) as base, _transport(base, auth=auth) as t:
        assert (await t.request("GET", "/x")).status == 200
    assert auth.refreshes == 1
    assert len(rec.requests) == 2


async def test_401_with_static_token_is_final_and_redacted() -> None:
    async def handler(request: web.Request) -> web.Response:
        # A server that echoes the credential back must not leak it into the message.
        return web.json_response({"error": f"bad {request.headers['Authorization']}"}, status=401)

    app, rec = await _server({"/x": handler})
    async with serve(app) as base, _transport(base, auth=StaticToken("leaky-secret-77")) as t:
        with pytest.raises(AuthenticationError) as info:
            await t.request("GET", "/x")
    assert len(rec.requests) == 1
    assert "leaky-secret-77" not in str(info.value)
    assert "leaky-secret-77" not in repr(info.value.args)


async def test_oversized_body_is_refused() -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * 100_000)

    app, _ = await _server({"/x": handler})
    config = HttpConfig(max_body_bytes=10_000)
    async with serve(app) as base, _transport(base, config) as t:
        with pytest.raises(APIError, match="larger than the limit of 10000 bytes"):
            await t.request("GET", "/x")


async def test_truncated_body_is_retried() -> None:
    calls = 0

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal calls
        calls += 1
        if calls == 1:
            response = web.StreamResponse(headers={"Content-Length": "100"})
            await response.prepare(request)
            await response.write(b"{" * 10)
            assert request.transport is not None
            request.transport.close()
            return response
        return web.json_response({"ok": True})

    app, _ = await _server({"/x": handler})
    async with serve(app) as base, _transport(base) as t:
        response = await t.request("GET", "/x")
    assert response.body == b'{"ok": true}'
    assert calls == 2


async def test_close_is_idempotent_and_callers_session_stays_open() -> None:
    async with aiohttp.ClientSession() as session:
        t = Transport(FAST, ApiScope("http://127.0.0.1:9"), session=session)
        await t.aclose()
        await t.aclose()
        assert not session.closed
        with pytest.raises(HoverBentleyError, match="closed"):
            await t.request("GET", "/x")
    own = _transport("http://127.0.0.1:9")
    await own.aclose()
    await own.aclose()


async def test_body_chunks_are_the_body_in_order_and_none_is_empty() -> None:
    body = random.Random(5).randbytes(3 * 1024 * 1024 + 17)  # several socket reads

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.content_length = len(body)
        await response.prepare(request)
        for start in range(0, len(body), 100_000):  # many writes, unaligned
            await response.write(body[start : start + 100_000])
        return response

    app, _ = await _server({"/x": handler})
    async with serve(app) as base, _transport(base) as t, t.stream("/x") as stream:
        parts = [chunk async for chunk in stream.chunks()]
    assert b"".join(parts) == body
    assert len(parts) > 1 and all(parts)
