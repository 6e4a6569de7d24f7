"""Transport failure paths, each against a real loopback server: timeouts, connection errors
before and after a request was sent, rate limiting, oversize bodies, redirects, error headers."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web

from hoverbentley._http.credentials import ApiScope
from hoverbentley._http.transport import Transport
from hoverbentley.config import HttpConfig
from hoverbentley.download import download_file
from hoverbentley.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    BadRequestError,
    NotFoundError,
    RedirectError,
)
from tests.support import fast, serve, tls_for_loopback

pytestmark = pytest.mark.anyio
FAST = fast(max_retries=3)
#: How far asyncio's sleep may undershoot on a coarse clock.
SLACK = 0.02


def _transport(base: str, config: HttpConfig = FAST) -> Transport:
    return Transport(config, ApiScope(base))


def _retries(caplog: pytest.LogCaptureFixture) -> int:
    return sum("retrying" in r.getMessage() for r in caplog.records)


@asynccontextmanager
async def hanging_up() -> AsyncIterator[tuple[str, list[bytes]]]:
    """A server that reads what arrives, then closes the connection without an answer."""
    received: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await reader.read(65536))
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    async with server:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", received


@pytest.fixture
def unaccepting() -> Iterator[str]:
    """A port whose accept queue is full: a new connection is never established."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        fillers.append(s)
    time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for s in fillers:
            s.close()
        listener.close()


async def test_connect_timeout_is_a_timeout_and_retried_even_for_post(
    unaccepting: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hoverbentley")
    config = fast(max_retries=2, connect_timeout=0.2)
    async with _transport(unaccepting, config) as t:
        with pytest.raises(APITimeoutError, match=r"connect timeout: 127\.0\.0\.1:[0-9]+ did not"):
            await t.request("POST", "/jobs", json={"a": 1})
    # Nothing reached a server: repeating a POST is safe.
    assert _retries(caplog) == 2


async def test_post_refused_before_sending_is_retried(caplog: pytest.LogCaptureFixture) -> None:
    """A refused connection cannot have reached the server: even a POST is sent again (once
    the host has answered; a refusal on the first contact is a setting to correct)."""
    app = web.Application()

    async def ok(request: web.Request) -> web.Response:
        # No connection kept: the POST below must open a new one, to a port nobody listens on.
        return web.json_response({}, headers={"Connection": "close"})

    app.router.add_get("/ping", ok)
    async with serve(app) as base:
        t = _transport(base)
        await t.request("GET", "/ping")
    caplog.set_level(logging.INFO, logger="hoverbentley")
    try:
        with pytest.raises(APIConnectionError, match="connection failed"):
            await t.request("POST", "/jobs", json={"a": 1})
    finally:
        await t.aclose()
    assert _retries(caplog) == FAST.max_retries


async def test_post_lost_after_sending_is_not_repeated() -> None:
    async with hanging_up() as (base, received), _transport(base) as t:
        with pytest.raises(APIConnectionError, match="connection failed"):
            await t.request("POST", "/jobs", json={"name": "once"})
    # The server got the POST once; it may have acted on it, so it is never sent again.
    posts = [r for r in received if r.startswith(b"POST /jobs")]
    assert len(posts) == 1 and b'"once"' in posts[0]
    assert len(received) == 1


async def test_get_lost_after_sending_is_retried() -> None:
    async with hanging_up() as (base, received), _transport(base, fast(max_retries=2)) as t:
        with pytest.raises(APIConnectionError):
            await t.request("GET", "/jobs")
    assert len(received) >= 3 and all(r.startswith(b"GET /jobs") for r in received)


async def test_requests_are_spaced_by_the_rate_limit() -> None:
    arrived: list[float] = []

    async def handler(request: web.Request) -> web.Response:
        arrived.append(asyncio.get_running_loop().time())
        return web.json_response({})

    app = web.Application()
    app.router.add_get("/x", handler)
    config = fast(requests_per_minute=600, rate_burst=1)  # one request per 0.1 s
    async with serve(app) as base, _transport(base, config) as t:
        # The limiter books slot k at (first booking + k * 0.1 s) on the loop's clock, which the
        # server shares here: no request can arrive before its slot, however late the one before
        # it was delivered (gaps between arrivals would measure delivery jitter, not the limiter).
        start = asyncio.get_running_loop().time()
        for _ in range(4):
            await t.request("GET", "/x")
    assert len(arrived) == 4
    assert all(at >= start + k * 0.1 for k, at in enumerate(arrived)), (start, arrived)


async def test_429_pushes_back_every_request_of_the_client() -> None:
    arrived: dict[str, list[float]] = {"/a": [], "/b": []}
    limited = asyncio.Event()

    async def handler(request: web.Request) -> web.Response:
        arrived[request.path].append(time.monotonic())
        if request.path == "/a" and len(arrived["/a"]) == 1:
            limited.set()
            return web.json_response({}, status=429, headers={"Retry-After": "1"})
        return web.json_response({})

    app = web.Application()
    app.router.add_get("/{name}", handler)
    config = fast(requests_per_minute=6000, rate_burst=5)  # the limiter alone never waits here
    async with serve(app) as base, _transport(base, config) as t:
        first = asyncio.ensure_future(t.request("GET", "/a"))
        await limited.wait()
        await asyncio.sleep(0.05)  # the client has read the 429 by now
        await t.request("GET", "/b")
        await first
    # /b was held back until the server's Retry-After had passed, like the retry of /a.
    assert arrived["/b"][0] - arrived["/a"][0] >= 1.0 - SLACK
    assert arrived["/a"][1] - arrived["/a"][0] >= 1.0 - SLACK


async def test_large_error_body_is_not_read_to_the_end() -> None:
    finished: list[bool] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=400)
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            for _ in range(64 * 16):  # 64 MiB
                await response.write(b"e" * 65536)
            finished.append(True)
        except (ConnectionError, RuntimeError):
            finished.append(False)
        return response

    app = web.Application()
    app.router.add_get("/x", handler)
    async with serve(app) as base, _transport(base) as t:
        with pytest.raises(BadRequestError) as info:
            await t.request("GET", "/x")
        while not finished:
            await asyncio.sleep(0.01)
    assert finished == [False], "the client read the whole error body"
    assert info.value.status_code == 400 and 0 < len(info.value.body_excerpt) <= 201


async def test_oversize_chunked_body_is_refused() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()  # no Content-Length to refuse it by
        await response.prepare(request)
        for _ in range(10):
            await response.write(b"x" * 10_000)
        return response

    app = web.Application()
    app.router.add_get("/x", handler)
    async with serve(app) as base, _transport(base, fast(max_body_bytes=50_000)) as t:
        with pytest.raises(APIError, match="larger than the limit of 50000 bytes"):
            await t.request("GET", "/x")


@pytest.mark.parametrize(
    ("status", "method", "body"), [(303, "GET", b""), (302, "GET", b""), (307, "POST", b'{"a": 1}')]
)
async def test_redirect_method_and_body_end_to_end(status: int, method: str, body: bytes) -> None:
    seen: list[tuple[str, str, bytes]] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append((request.method, request.path, await request.read()))
        if request.path == "/create":
            return web.Response(status=status, headers={"Location": "/created"})
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_route("*", "/{name}", handler)
    async with serve(app) as base, _transport(base) as t:
        await t.request("POST", "/create", json={"a": 1})
    assert seen[0] == ("POST", "/create", b'{"a": 1}')
    assert seen[1:] == [(method, "/created", body)]


async def test_https_to_http_redirect_is_refused_end_to_end(tmp_path: object) -> None:
    plain_seen: list[str] = []

    async def plain(request: web.Request) -> web.Response:
        plain_seen.append(request.path)
        return web.Response(text="downgraded")

    plain_app = web.Application()
    plain_app.router.add_get("/{tail:.*}", plain)
    ca, server_ctx = tls_for_loopback()
    ca_file = f"{tmp_path}/ca.pem"
    ca.cert_pem.write_to_path(ca_file)
    async with serve(plain_app) as plain_base:

        async def secure(request: web.Request) -> web.Response:
            raise web.HTTPFound(f"{plain_base}/file")

        app = web.Application()
        app.router.add_get("/file", secure)
        async with serve(app, server_ctx) as base, _transport(base, fast(ca_file=ca_file)) as t:
            with pytest.raises(RedirectError, match="HTTPS to plain HTTP"):
                await t.request("GET", "/file")
    assert plain_seen == []


async def test_error_headers_keep_neither_cookies_nor_credentials() -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response(
            {"error": {"code": "JobNotFound", "message": "no such job"}},
            status=404,
            headers={
                "Set-Cookie": "session=s3cr3t",
                "WWW-Authenticate": 'Bearer realm="x"',
                "Authorization": "Bearer echoed",
                "X-Request-Id": "req-42",
            },
        )

    app = web.Application()
    app.router.add_get("/x", handler)
    async with serve(app) as base, _transport(base) as t:
        with pytest.raises(NotFoundError) as info:
            await t.request("GET", "/x")
    names = {k.lower() for k in info.value.headers}
    assert "x-request-id" in names
    assert not names & {"set-cookie", "www-authenticate", "authorization"}


async def test_400_is_a_bad_request_error_with_the_service_message() -> None:
    async def handler(request: web.Request) -> web.Response:
        body = {"error": {"code": "InvalidRequest", "message": "name is too long"}}
        return web.json_response(body, status=400)

    app = web.Application()
    app.router.add_post("/x", handler)
    async with serve(app) as base, _transport(base) as t:
        with pytest.raises(BadRequestError, match="name is too long") as info:
            await t.request("POST", "/x", json={})
    assert (info.value.status_code, info.value.code) == (400, "InvalidRequest")


async def test_a_body_cut_short_says_how_many_bytes_came(tmp_path: Path) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": "100"})
        await response.prepare(request)
        await response.write(b"{" * 10)
        assert request.transport is not None
        request.transport.close()
        return response

    app = web.Application()
    app.router.add_get("/x", handler)
    async with serve(app) as base, _transport(base, fast(max_retries=0)) as t:
        with pytest.raises(APIConnectionError) as api:
            await t.request("GET", "/x")
        with pytest.raises(APIConnectionError) as download:
            await download_file(t, f"{base}/x", tmp_path / "x.bin")
    for caught in (api, download):
        assert "the connection closed after 10 of 100 bytes" in str(caught.value)
        assert "ContentLengthError" not in str(caught.value)


@pytest.mark.parametrize("call", ["request", "download"])
async def test_a_server_that_accepts_and_never_answers_is_a_read_timeout(
    call: str, tmp_path: Path
) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    try:
        config = fast(max_retries=0, read_timeout=0.3)
        async with _transport(base, config) as t:
            attempt = (
                t.request("GET", "/jobs")
                if call == "request"
                else download_file(t, f"{base}/x", tmp_path / "x")  # on the download leg
            )
            with pytest.raises(APITimeoutError) as caught:
                await attempt
    finally:
        listener.close()
    message = str(caught.value)
    assert message.startswith(f"read timeout: 127.0.0.1:{port} accepted the request but sent no")
    assert "connection failed" not in message
