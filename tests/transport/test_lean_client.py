"""The lean client on the wire, against real loopback servers: connections kept and
replaced, bodies of every framing and encoding, request bodies, the limits, and each failure
as the user reads it."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import json
import logging
import socket
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest
import trustme
from aiohttp import web

from hoverbentley._http.credentials import ApiScope
from hoverbentley._http.lean_client import LeanClient, request_head
from hoverbentley._http.transport import Transport
from hoverbentley.config import HttpConfig
from hoverbentley.download import download_file
from hoverbentley.errors import APIConnectionError, APITimeoutError, UnreachableHostError
from tests.support import fast, serve, tls_for_loopback

pytestmark = pytest.mark.anyio
FAST = fast(max_retries=1)


@pytest.fixture(
    params=[
        pytest.param(("asyncio", {}), id="asyncio"),
        pytest.param(("asyncio", {"use_uvloop": True}), id="uvloop"),  # the command line's
    ]
)
def anyio_backend(request: pytest.FixtureRequest) -> object:
    """Each test on asyncio's own loop and on uvloop: their transports call the buffered
    protocol differently."""
    return request.param


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def _transport(base: str, config: HttpConfig = FAST) -> Transport:
    return Transport(config, ApiScope(base))


@asynccontextmanager
async def raw_server(handle: Handler) -> AsyncIterator[str]:
    """A server that speaks bytes the test writes itself; every connection is closed and
    its handler finished when the block ends (the client closed first)."""
    handlers: list[asyncio.Task[None]] = []

    async def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handlers.append(asyncio.current_task())  # type: ignore[arg-type]
        try:
            await handle(reader, writer)
        finally:
            writer.close()
            await writer.wait_closed()

    server = await asyncio.start_server(connected, "127.0.0.1", 0)
    async with server:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        await asyncio.gather(*handlers, return_exceptions=True)


@asynccontextmanager
async def tls_server(body: bytes) -> AsyncIterator[tuple[str, trustme.CA]]:
    """A server answering ``GET /x`` with ``body`` over TLS, its certificate signed by a CA
    of its own: the base URL and the CA."""
    ca, context = tls_for_loopback()

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=body)

    app = web.Application()
    app.router.add_get("/x", handler)
    async with serve(app, context) as base:
        yield base, ca


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    return await reader.readuntil(b"\r\n\r\n")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def test_downloads_share_one_kept_alive_connection(tmp_path: Path) -> None:
    peers: list[object] = []

    async def handler(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername") if request.transport else None)
        return web.Response(body=request.path.encode() * 100)

    app = web.Application()
    app.router.add_get("/{name}", handler)
    async with serve(app) as base, _transport(base) as t:
        for n in range(20):
            result = await download_file(t, f"{base}/f{n}", tmp_path / f"f{n}")
            assert result.sha256 == _sha(f"/f{n}".encode() * 100)
    assert len(peers) == 20
    assert len(set(peers)) == 1  # one connection for all twenty


async def test_a_connection_the_server_closed_while_idle_is_replaced_without_a_retry(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    connections = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await _read_request(reader)
        # Keep-alive by HTTP/1.1's default; the next request on it meets a closed connection,
        # as when a server drops an idle connection just as the client reuses it.
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
        await writer.drain()
        await reader.read(1)
        writer.close()

    caplog.set_level(logging.INFO, logger="hoverbentley")
    async with raw_server(handle) as base, _transport(base, fast(max_retries=0)) as t:
        for n in range(3):
            result = await download_file(t, f"{base}/f{n}", tmp_path / f"f{n}")
            assert result.size == 5
    assert (tmp_path / "f2").read_bytes() == b"hello"
    assert connections == 3
    assert not [r for r in caplog.records if "retrying" in r.getMessage()]


async def test_a_body_that_ends_with_the_connection_is_kept_whole(tmp_path: Path) -> None:
    body = bytes(range(256)) * 4096  # 1 MiB, no Content-Length, not chunked

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + body)
        await writer.drain()
        writer.close()

    async with raw_server(handle) as base, _transport(base) as t:
        result = await download_file(t, f"{base}/x", tmp_path / "x")
    assert result.sha256 == _sha(body)
    assert (tmp_path / "x").read_bytes() == body


async def test_a_chunked_body_is_kept_whole(tmp_path: Path) -> None:
    pieces = [bytes([n]) * (1000 + n * 37) for n in range(50)]

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for piece in pieces:
            await response.write(piece)
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/x", handler)
    async with serve(app) as base, _transport(base) as t:
        result = await download_file(t, f"{base}/x", tmp_path / "x")
    assert (tmp_path / "x").read_bytes() == b"".join(pieces)
    assert result.sha256 == _sha(b"".join(pieces))


async def test_a_content_encoded_object_is_archived_as_stored(tmp_path: Path) -> None:
    stored = gzip.compress(b"measurements " * 5000)
    asked: list[str | None] = []

    async def handler(request: web.Request) -> web.Response:
        asked.append(request.headers.get("Accept-Encoding"))
        return web.Response(body=stored, headers={"Content-Encoding": "gzip"})

    app = web.Application()
    app.router.add_get("/x", handler)
    async with serve(app) as base:
        async with _transport(base) as t:
            result = await download_file(t, f"{base}/x", tmp_path / "x")
        # Through a caller's tracing the download goes by aiohttp: the same bytes.
        traced = Transport(FAST, ApiScope(base), trace_configs=[_trace()])
        async with traced:
            again = await download_file(traced, f"{base}/x", tmp_path / "y")
    assert (tmp_path / "x").read_bytes() == stored
    assert (tmp_path / "y").read_bytes() == stored
    assert result.sha256 == again.sha256 == _sha(stored)
    assert asked == ["identity", "identity"]


def _trace() -> aiohttp.TraceConfig:
    return aiohttp.TraceConfig()


async def test_a_large_body_read_slower_than_it_arrives_is_kept_whole(tmp_path: Path) -> None:
    body = hashlib.sha256(b"seed").digest() * (24 * 1024 * 1024 // 32)

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=body)

    app = web.Application()
    app.router.add_get("/x", handler)
    # The bandwidth limit makes the reader the slow side: the connection stops reading
    # while the buffer is full, and starts again as it drains.
    config = fast(bandwidth_limit=64 * 1024 * 1024)
    async with serve(app) as base, _transport(base, config) as t:
        result = await download_file(t, f"{base}/x", tmp_path / "x")
    assert result.size == len(body)
    assert result.sha256 == _sha(body)


async def test_bytes_the_server_sends_past_a_bodys_length_are_not_part_of_it(
    tmp_path: Path,
) -> None:
    """A body longer than the first read is read straight into buffers, up to its length:
    what a faulty server sends after it is never taken as more of it."""
    body = bytes(range(256)) * (3 * 4096)  # 3 MiB
    bodies = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal bodies
        while True:
            try:
                await _read_request(reader)
            except asyncio.IncompleteReadError:
                return  # the client closed the connection
            bodies += 1
            head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body)
            writer.write(head + body + b"HTTP/1.1 200 OK\r\n\r\nnot asked for")
            await writer.drain()

    async with raw_server(handle) as base, _transport(base) as t:
        for name in ("a", "b"):
            result = await download_file(t, f"{base}/{name}", tmp_path / name)
            assert (result.size, result.sha256) == (len(body), _sha(body))
    assert (tmp_path / "a").read_bytes() == body
    assert (tmp_path / "b").read_bytes() == body


async def test_a_request_waiting_for_the_slot_never_takes_bytes_past_a_drained_body() -> None:
    """A response released with a small rest to come keeps its connection once the rest is
    read and dropped; a faulty server's bytes after that rest fail the connection before the
    request waiting for the host's only slot is sent on it."""
    rest = 20_000
    send_rest = asyncio.Event()
    connections = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        first = connections == 1
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                await _read_request(reader)
                if first:
                    first = False
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (10 + rest))
                    writer.write(b"a" * 10)
                    await writer.drain()
                    await send_rest.wait()
                    # The rest, then a response nobody asked for, in one write.
                    writer.write(b"b" * rest + b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nEVIL!")
                else:
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ngood")
                await writer.drain()

    async with raw_server(handle) as base:
        client = LeanClient(fast(max_connections_per_host=1))
        try:
            first = await client.request("GET", f"{base}/a", {})

            async def second() -> bytes:
                response = await client.request("GET", f"{base}/b", {})
                pieces = []
                while piece := (await response.content.readchunk())[0]:
                    pieces.append(bytes(piece))
                response.release()
                return b"".join(pieces)

            waiting = asyncio.create_task(second())
            for _ in range(10):  # the second request goes as far as the host's slot
                await asyncio.sleep(0)
            assert not waiting.done()
            first.release()  # 20,000 bytes to come: read and dropped, the connection kept
            send_rest.set()
            assert await asyncio.wait_for(waiting, 60) == b"good"
        finally:
            await client.aclose()
    assert connections == 2


async def test_a_body_that_arrives_slowly_keeps_small_buffers() -> None:
    """Buffers grow only for a body that fills the room it is offered: one that trickles in
    (here 1 KiB at a time, each sent once the last was read) never holds more than 256 KiB,
    where 64 such downloads at 4 MiB each would hold 256 MiB."""
    piece_size, pieces = 1024, 600
    sent = bytes(range(256)) * (piece_size * pieces // 256)
    wanted: asyncio.Queue[None] = asyncio.Queue()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(sent))
        for start in range(0, len(sent), piece_size):
            writer.write(sent[start : start + piece_size])
            await writer.drain()
            await wanted.get()

    async with raw_server(handle) as base:
        client = LeanClient(FAST)
        try:
            response = await client.request("GET", f"{base}/slow", {})
            received, buffers = [], set()
            while piece := (await response.content.readchunk())[0]:
                received.append(bytes(piece))
                if isinstance(piece, memoryview):
                    buffers.add(len(piece.obj))  # type: ignore[arg-type]
                wanted.put_nowait(None)
            response.release()
        finally:
            await client.aclose()
    assert b"".join(received) == sent
    assert buffers and max(buffers) <= 256 * 1024, buffers


async def test_a_body_read_straight_into_buffers_lets_them_go_at_its_end() -> None:
    """An idle connection keeps its last response: the body's buffer must not stay with it
    (up to 4 MiB for each of 64 connections)."""
    from types import SimpleNamespace

    from hoverbentley._http.lean_connection import LeanBody

    connection = SimpleNamespace(
        high_water=1 << 30, _loop=asyncio.get_running_loop(), pause_reading=lambda: None
    )
    body = LeanBody(connection)  # type: ignore[arg-type]
    sent = bytes(range(256)) * 4096  # 1 MiB in four reads, each filling all the room offered
    received: list[bytes] = []
    for start in range(0, len(sent), 256 * 1024):
        room = body.direct_buffer(len(sent) - start)
        room[: 256 * 1024] = sent[start : start + 256 * 1024]
        body.direct_filled(min(len(room), 256 * 1024))
        received.append(bytes((await body.readchunk())[0]))
    assert len(body._buffer) > 0
    body.feed_eof()
    assert b"".join(received) == sent and body.at_eof()
    assert len(body._buffer) == 0


async def test_a_large_body_over_tls_is_kept_whole(tmp_path: Path) -> None:
    body = hashlib.sha256(b"tls").digest() * (9 * 1024 * 1024 // 32)  # 9 MiB: several buffers
    async with tls_server(body) as (base, ca):
        pem = tmp_path / "ca.pem"
        ca.cert_pem.write_to_path(str(pem))
        async with _transport(base, fast(ca_file=str(pem))) as t:
            for name in ("x", "y"):  # the second on the connection the first kept alive
                result = await download_file(t, f"{base}/x", tmp_path / name)
                assert (result.size, result.sha256) == (len(body), _sha(body))
    assert (tmp_path / "y").read_bytes() == body


async def test_no_more_connections_to_a_host_than_its_limit(tmp_path: Path) -> None:
    open_now = most = 0
    release = asyncio.Event()
    peers: set[object] = set()

    async def handler(request: web.Request) -> web.Response:
        nonlocal open_now, most
        peers.add(request.transport.get_extra_info("peername") if request.transport else None)
        open_now += 1
        most = max(most, open_now)
        if open_now == 2:
            release.set()
        await release.wait()
        open_now -= 1
        return web.Response(body=b"x" * 1000)

    app = web.Application()
    app.router.add_get("/{name}", handler)
    config = fast(max_connections_per_host=2)
    async with serve(app) as base, _transport(base, config) as t:
        results = await asyncio.gather(
            *(download_file(t, f"{base}/f{n}", tmp_path / f"f{n}") for n in range(8))
        )
    assert [r.size for r in results] == [1000] * 8
    # All eight start at once: without the limit each would open a connection of its own.
    assert len(peers) == 2
    assert most == 2


async def test_a_malformed_response_is_a_connection_error_and_retried(tmp_path: Path) -> None:
    requests = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal requests
        await _read_request(reader)
        requests += 1
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: x1\r\n\r\n")
        await writer.drain()
        writer.close()

    async with raw_server(handle) as base, _transport(base) as t:
        with pytest.raises(APIConnectionError, match="malformed response") as caught:
            await download_file(t, f"{base}/x", tmp_path / "x")
    assert requests == 2  # the first try and its one retry
    assert caught.value.url == f"{base}/x"
    assert not (tmp_path / "x").exists()


async def test_a_body_cut_short_is_resumed_from_where_it_stopped(tmp_path: Path) -> None:
    body = bytes(range(256)) * 1024
    ranges: list[str | None] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await _read_request(reader)).decode("latin-1")
        asked = [line.split(": ", 1)[1] for line in head.split("\r\n") if line.startswith("Range")]
        ranges.append(asked[0] if asked else None)
        if not asked:
            writer.write(
                b'HTTP/1.1 200 OK\r\nETag: "v1"\r\nContent-Length: %d\r\n\r\n' % len(body)
                + body[:100_000]
            )
        else:
            start = int(asked[0].removeprefix("bytes=").rstrip("-"))
            rest = body[start:]
            writer.write(
                b'HTTP/1.1 206 Partial Content\r\nETag: "v1"\r\nContent-Length: %d\r\n'
                b"Content-Range: bytes %d-%d/%d\r\n\r\n"
                % (len(rest), start, len(body) - 1, len(body))
                + rest
            )
        await writer.drain()
        writer.close()

    async with raw_server(handle) as base, _transport(base) as t:
        result = await download_file(t, f"{base}/x", tmp_path / "x")
    assert (tmp_path / "x").read_bytes() == body
    assert result.resumed_from == 0 and result.size == len(body)
    assert ranges[0] is None
    assert ranges[1] is not None and int(ranges[1].removeprefix("bytes=").rstrip("-")) >= 1


async def test_a_redirect_to_a_refused_storage_host_names_it(tmp_path: Path) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now

    async def handler(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"http://127.0.0.1:{port}/blob")

    app = web.Application()
    app.router.add_get("/x", handler)
    async with serve(app) as base, _transport(base) as t:
        with pytest.raises(UnreachableHostError, match=f"127.0.0.1:{port} refused the connection"):
            await download_file(t, f"{base}/x", tmp_path / "x")
    assert not (tmp_path / "x").exists()


async def test_an_untrusted_storage_certificate_is_named(tmp_path: Path) -> None:
    async with tls_server(b"x") as (base, ca):
        async with _transport(base) as t:
            with pytest.raises(UnreachableHostError, match=r"TLS certificate .* is not trusted"):
                await download_file(t, f"{base}/x", tmp_path / "x")
        # Trusted through ca_file, the same download succeeds on the leg's TLS.
        pem = tmp_path / "ca.pem"
        ca.cert_pem.write_to_path(str(pem))
        async with _transport(base, fast(ca_file=str(pem))) as t:
            result = await download_file(t, f"{base}/x", tmp_path / "x")
        assert result.size == 1


async def test_without_httptools_downloads_go_through_aiohttp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    agents: list[str | None] = []

    async def handler(request: web.Request) -> web.Response:
        agents.append(request.headers.get("Accept-Encoding"))
        return web.Response(body=b"y" * 3000)

    monkeypatch.setattr("hoverbentley._http.transport.lean_available", lambda: False)
    app = web.Application()
    app.router.add_get("/x", handler)
    async with serve(app) as base, _transport(base) as t:
        result = await download_file(t, f"{base}/x", tmp_path / "x")
        assert t._lean is None  # the leg was never built
    assert result.sha256 == _sha(b"y" * 3000)
    assert agents == ["identity"]


async def test_a_body_still_read_when_the_client_closes_leaves_no_connection_open(
    tmp_path: Path,
) -> None:
    ended = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
        await writer.drain()
        await reader.read(1)  # returns once the client closed its side
        ended.set()

    async with raw_server(handle) as base:
        t = _transport(base)
        async with t.stream(f"{base}/x") as body:
            await t.aclose()
            assert [piece async for piece in body.chunks()] == [b"hello"]
        await asyncio.wait_for(ended.wait(), 30)  # the connection was closed, not pooled


async def _serve_two(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, first: bytes, second: bytes
) -> None:
    """Answer two requests on one connection: ``first``, then ``second``."""
    for answer in (first, second):
        await _read_request(reader)
        writer.write(answer)
        await writer.drain()
    await reader.read(1)


async def test_the_trailers_of_a_chunked_body_are_not_the_next_responses_headers(
    tmp_path: Path,
) -> None:
    first = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: ETag\r\n\r\n"
        b'3\r\nabc\r\n0\r\nETag: "stale"\r\nX-Sum: abc\r\n\r\n'
    )
    second = b'HTTP/1.1 200 OK\r\nETag: "fresh"\r\nContent-Length: 3\r\n\r\nxyz'

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _serve_two(reader, writer, first, second)

    async with raw_server(handle) as base, _transport(base) as t:
        await download_file(t, f"{base}/a", tmp_path / "a")
        result = await download_file(t, f"{base}/b", tmp_path / "b")
    assert (tmp_path / "b").read_bytes() == b"xyz"
    assert result.etag == '"fresh"'


async def test_whitespace_around_header_values_is_not_part_of_them(tmp_path: Path) -> None:
    body = bytes(range(10))
    resumed: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await _read_request(reader)
        if b"Range" not in head:
            # A length with a trailing space and an ETag with trailing tab, cut after 3 bytes.
            writer.write(
                b'HTTP/1.1 200 OK\r\nContent-Length: 10 \r\nETag: "v1"\t\r\n\r\n' + body[:3]
            )
        else:
            resumed.append(head)
            writer.write(
                b'HTTP/1.1 206 Partial Content\r\nETag: "v1"\r\nContent-Length: 7\r\n'
                b"Content-Range: bytes 3-9/10\r\n\r\n" + body[3:]
            )
        await writer.drain()
        writer.close()

    async with raw_server(handle) as base, _transport(base) as t:
        result = await download_file(t, f"{base}/x", tmp_path / "x")
    assert (tmp_path / "x").read_bytes() == body and result.size == 10
    # The cut was noticed (3 of 10 bytes) and resumed with the ETag as sent, unpadded.
    assert len(resumed) == 1
    assert b'\r\nIf-Range: "v1"\r\n' in resumed[0]
    assert b"\r\nRange: bytes=3-\r\n" in resumed[0]


async def test_a_body_left_unread_does_not_hold_up_the_next_download(tmp_path: Path) -> None:
    # Read buffers of 16 KiB: the connection stops reading past 32 KiB held for the reader.
    body = b"z" * (40 * 1024)
    peers: list[object] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peers.append(writer.get_extra_info("peername"))
        while await reader.read(1):  # the next request, until the client closes
            await _read_request(reader)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            await writer.drain()

    config = fast(max_retries=0, read_timeout=5, read_bufsize=16 * 1024)
    async with raw_server(handle) as base, _transport(base, config) as t:
        async with t.stream(f"{base}/a") as stream:
            response = stream._response  # the setup waits for the whole body to be buffered
            while not getattr(response, "complete", True):
                await asyncio.sleep(0.01)
        # Left unread (a caller that gave up on it): its connection is not reused as it is.
        result = await download_file(t, f"{base}/b", tmp_path / "b")
    assert result.size == len(body)


async def test_a_read_timeout_on_a_kept_connection_sends_the_request_once(
    tmp_path: Path,
) -> None:
    requests = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal requests
        await _read_request(reader)
        requests += 1
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        await _read_request(reader)
        requests += 1  # and never answered
        await reader.read(1)

    config = fast(max_retries=0, read_timeout=0.5)
    async with raw_server(handle) as base, _transport(base, config) as t:
        await download_file(t, f"{base}/a", tmp_path / "a")
        with pytest.raises(APITimeoutError, match="read timeout"):
            await download_file(t, f"{base}/b", tmp_path / "b")
    assert requests == 2


async def test_a_busy_host_does_not_hold_up_another(tmp_path: Path) -> None:
    release = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(body=b"slow")

    async def quick(request: web.Request) -> web.Response:
        return web.Response(body=b"quick")

    busy, other = web.Application(), web.Application()
    busy.router.add_get("/{name}", slow)
    other.router.add_get("/{name}", quick)
    config = fast(max_connections=2, max_connections_per_host=1)
    async with serve(busy) as a, serve(other) as b, _transport(a, config) as t:
        held = [
            asyncio.ensure_future(download_file(t, f"{a}/{n}", tmp_path / f"a{n}"))
            for n in range(2)
        ]
        await asyncio.sleep(0)
        result = await asyncio.wait_for(download_file(t, f"{b}/x", tmp_path / "b"), 30)
        assert result.size == 5  # while both of the busy host's downloads wait
        release.set()
        assert [r.size for r in await asyncio.gather(*held)] == [4, 4]


async def test_an_idle_connection_is_closed_after_the_keepalive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        await reader.read(1)  # the client's close
        closed.set()

    monkeypatch.setattr("hoverbentley._http.lean_client.KEEPALIVE", 0.2)
    async with raw_server(handle) as base, _transport(base) as t:
        await download_file(t, f"{base}/a", tmp_path / "a")
        await asyncio.wait_for(closed.wait(), 30)  # while the client stays open


async def test_a_redirect_whose_body_follows_its_headers_keeps_its_connection(
    tmp_path: Path,
) -> None:
    connections = {"api": 0, "storage": 0}
    body_sent = asyncio.Event()

    async def storage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections["storage"] += 1
        while await reader.read(1):  # the next request, until the client closes
            await _read_request(reader)
            await body_sent.wait()  # the redirect's body went out before this answer
            body_sent.clear()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nblob")
            await writer.drain()

    async with raw_server(storage) as blobs:

        async def api(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            connections["api"] += 1
            while await reader.read(1):
                await _read_request(reader)
                writer.write(
                    b"HTTP/1.1 302 Found\r\nLocation: %s/blob\r\nContent-Length: 9\r\n\r\n"
                    % blobs.encode()
                )
                await writer.drain()
                # The body comes once the client has the headers and has moved on to the
                # storage host (a server that writes a redirect's headers and body apart).
                await asyncio.sleep(0.01)
                writer.write(b"302 Found")
                await writer.drain()
                body_sent.set()

        async with raw_server(api) as base, _transport(base) as t:
            for n in range(5):
                result = await download_file(t, f"{base}/x", tmp_path / f"f{n}")
                assert result.size == 4
    # The redirect's body is read and dropped and its connection kept (a connection for
    # every redirect before).
    assert connections == {"api": 1, "storage": 1}


def _document() -> bytes:
    return json.dumps({"results": [{"id": n, "name": f"job {n}"} for n in range(2000)]}).encode()


def _raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


def _two_members(data: bytes) -> bytes:
    return gzip.compress(data[:1000]) + gzip.compress(data[1000:])


@pytest.mark.parametrize(
    ("encoding", "pack"),
    [
        ("gzip", gzip.compress),
        ("gzip", _two_members),
        ("deflate", zlib.compress),
        ("deflate", _raw_deflate),
    ],
    ids=["gzip", "gzip of two members", "zlib deflate", "raw deflate"],
)
async def test_an_api_body_is_asked_for_compressed_and_read_inflated(
    encoding: str, pack: Callable[[bytes], bytes]
) -> None:
    document = _document()
    asked: list[str | None] = []

    async def handler(request: web.Request) -> web.Response:
        asked.append(request.headers.get("Accept-Encoding"))
        return web.Response(
            body=pack(document),
            headers={"Content-Encoding": encoding, "Content-Type": "application/json"},
        )

    app = web.Application()
    app.router.add_get("/jobs", handler)
    async with serve(app) as base, _transport(base) as t:
        response = await t.request("GET", "/jobs")
        assert t._session is None  # no aiohttp session was opened
    assert response.body == document
    assert asked == ["gzip, deflate"]


@pytest.mark.parametrize(
    ("sent", "said"),
    [
        (gzip.compress(_document())[:-200], "the gzip body ended early"),
        (gzip.compress(_document())[:10] + b"\xff" * 300, "the gzip body is corrupt"),
    ],
    ids=["cut", "corrupt"],
)
async def test_a_compressed_body_that_does_not_inflate_is_an_error_that_says_so(
    sent: bytes, said: str
) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=sent, headers={"Content-Encoding": "gzip"})

    app = web.Application()
    app.router.add_get("/jobs", handler)
    async with serve(app) as base, _transport(base) as t:
        with pytest.raises(APIConnectionError, match=said):
            await t.request("GET", "/jobs")


async def test_json_form_and_empty_bodies_reach_the_server_as_aiohttp_sent_them() -> None:
    seen: list[tuple[str, str, str | None, bytes]] = []

    async def handler(request: web.Request) -> web.Response:
        length = request.headers.get("Content-Length")
        seen.append((request.method, request.content_type, length, await request.read()))
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_route("*", "/x", handler)
    job = {"name": "Roof, east", "inputs": [1, 2], "note": "é"}
    async with serve(app) as base, _transport(base) as t:
        await t.request("POST", "/x", json=job)
        await t.request("POST", "/x", form={"grant_type": "refresh_token", "token": "a b&c"})
        await t.request("PATCH", "/x")
        await t.request("DELETE", "/x")
        await t.request("GET", "/x")
    assert seen == [
        ("POST", "application/json", str(len(json.dumps(job))), json.dumps(job).encode()),
        (
            "POST",
            "application/x-www-form-urlencoded",
            "38",
            b"grant_type=refresh_token&token=a+b%26c",
        ),
        ("PATCH", "application/octet-stream", "0", b""),
        ("DELETE", "application/octet-stream", "0", b""),
        ("GET", "application/octet-stream", None, b""),
    ]


async def test_a_post_on_a_connection_the_server_dropped_is_not_sent_again() -> None:
    """A GET meeting a kept connection the server closed is sent again on a new one (above);
    a POST is not: the server may have acted on it."""
    requests: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        requests.append((await _read_request(reader)).split(b" ", 1)[0])
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        with contextlib.suppress(asyncio.IncompleteReadError):
            requests.append((await _read_request(reader)).split(b" ", 1)[0])
        # Closed with no answer, as a server that dropped the idle connection.

    async with raw_server(handle) as base, _transport(base, fast(max_retries=3)) as t:
        await t.request("GET", "/a")
        with pytest.raises(APIConnectionError, match="connection failed"):
            await t.request("POST", "/jobs", json={"name": "once"})
    assert requests == [b"GET", b"POST"]


async def test_a_body_that_stops_half_way_is_a_read_timeout_not_a_hang() -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"id"')
        await writer.drain()
        await reader.read()  # nothing more, until the client gives up and closes

    config = fast(max_retries=0, read_timeout=0.3)
    async with raw_server(handle) as base, _transport(base, config) as t:
        with pytest.raises(APITimeoutError, match=r"sent 5 bytes of the response, then nothing"):
            await t.request("GET", "/jobs")


async def test_header_values_outside_ascii_go_and_come_as_utf_8() -> None:
    seen: list[tuple[str, str, str]] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = await _read_request(reader)
            except asyncio.IncompleteReadError:
                return
            line, *fields = head.decode("utf-8").split("\r\n")
            named = dict(f.split(": ", 1) for f in fields if f)
            seen.append((line.split(" ")[1], named["User-Agent"], named.get("X-Name", "")))
            if line.startswith("GET /start"):
                # A Location of raw UTF-8, as some servers send it.
                writer.write(
                    "HTTP/1.1 302 Found\r\nLocation: /café\r\nContent-Length: 0\r\n\r\n".encode()
                )
            else:
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()

    config = fast(user_agent="survey tool — v1")
    async with raw_server(handle) as base, _transport(base, config) as t:
        response = await t.request("GET", "/start", headers={"X-Name": "Müller"})
    assert response.body == b"ok"
    assert seen == [
        ("/start", "survey tool — v1", "Müller"),
        ("/caf%C3%A9", "survey tool — v1", "Müller"),
    ]


async def test_a_head_response_has_no_body_whatever_its_length_says() -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * 42)

    peers: list[object] = []

    async def track(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername") if request.transport else None)
        return await handler(request)

    app = web.Application()
    app.router.add_route("*", "/x", track)
    async with serve(app) as base, _transport(base) as t:
        head = await asyncio.wait_for(t.request("HEAD", "/x"), 10)
        after = await t.request("GET", "/x")
    assert (head.status, head.headers["Content-Length"], head.body) == (200, "42", b"")
    assert after.body == b"x" * 42
    assert len(set(peers)) == 1  # the HEAD's connection was kept for the GET


async def test_a_host_header_given_is_sent_once_in_place_of_the_urls() -> None:
    heads: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        heads.append(await _read_request(reader))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()

    async with raw_server(handle) as base, _transport(base) as t:
        await t.request("GET", "/x", headers={"Host": "api.example.test"})
        await t.request("GET", "/y")
    hosts = [[f for f in head.split(b"\r\n") if f.lower().startswith(b"host:")] for head in heads]
    port = base.rsplit(":", 1)[1].encode()
    assert hosts == [[b"Host: api.example.test"], [b"Host: 127.0.0.1:" + port]]


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("http://storage.example.test:80/a", b"storage.example.test"),
        ("https://storage.example.test:443/a", b"storage.example.test"),
        ("http://storage.example.test:8080/a", b"storage.example.test:8080"),
        ("https://storage.example.test:80/a", b"storage.example.test:80"),
        ("http://storage.example.test:443/a", b"storage.example.test:443"),
        ("https://user:pw@storage.example.test:443/a?b=1", b"storage.example.test"),
    ],
)
def test_the_host_header_leaves_out_only_the_schemes_default_port(url: str, host: bytes) -> None:
    head = request_head("GET", urlsplit(url), {}, "User-Agent: t\r\n", decompress=False)
    lines = head.split(b"\r\n")
    assert lines[0] == b"GET /a" + (b"?b=1" if "?" in url else b"") + b" HTTP/1.1"
    assert [line for line in lines if line.lower().startswith(b"host:")] == [b"Host: " + host]
