"""Candidates for the storage leg, each doing our file work on the same signed URLs.

``--leg NAME --urls FILE --out DIR`` fetches every URL of FILE into DIR/<n>.bin through
:class:`hoverbentley._http.part_file.PartFile` (sha256 while streaming, ``.part``, a
whole small body written on the loop and committed with others by one ``syncfs``, a large
one in two stages, fsync, rename) and checks each size against its ``Content-Length``. Only
the HTTP client under it changes:

- ``session``: ``aiohttp.ClientSession.get`` per file, ``readchunk`` pieces (what our
  transport uses, without our retry, health and redirect layers around it);
- ``lean``: aiohttp below the session: a ``ClientRequest`` sent on a connection taken from
  the connector, the response started by hand (no cookies, timeouts, traces, redirect loop);
- ``httptools``: HTTP/1.1 on an asyncio protocol, parsed by ``httptools`` (llhttp), with a
  keep-alive pool per host and flow control on the transport;
- ``pycurl``: libcurl's multi interface driven by the event loop's readers, writers and
  timers (one ``CurlMulti``, easy handles reused, their connection cache shared).

What none of them has is what makes the product (retries, resume, host health, stall
watch): this measures the client each would start from.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# Every leg imports aiohttp: the archive needs it for the API in any case, so its import
# is start-up that no storage leg saves.
import aiohttp

from hoverbentley._http.digest import Digest
from hoverbentley._http.part_file import PartFile

Fetch = Callable[[str], AsyncIterator[bytes]]


async def _pieces(url: str, response: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    """The body of an aiohttp response in the pieces the parser received (a 200 only)."""
    if response.status != 200:
        raise RuntimeError(f"{url}: HTTP {response.status}")
    while True:
        chunk, end = await response.content.readchunk()
        if not chunk:
            if end:
                continue
            return
        yield chunk


# -- aiohttp, through the session ------------------------------------------------------------


def session_leg(ssl_context: ssl.SSLContext, concurrency: int) -> tuple[Fetch, Any]:
    from yarl import URL

    connector = aiohttp.TCPConnector(limit=concurrency, ssl=ssl_context)
    session = aiohttp.ClientSession(connector=connector, auto_decompress=False)

    async def fetch(url: str) -> AsyncIterator[bytes]:
        async with session.get(URL(url, encoded=True), allow_redirects=False) as response:
            async for chunk in _pieces(url, response):
                yield chunk

    return fetch, session.close


# -- aiohttp, below the session --------------------------------------------------------------


def lean_leg(ssl_context: ssl.SSLContext, concurrency: int) -> tuple[Fetch, Any]:
    from aiohttp.client_reqrep import ClientRequest
    from yarl import URL

    loop = asyncio.get_running_loop()
    connector = aiohttp.TCPConnector(limit=concurrency, ssl=ssl_context)
    timeout = aiohttp.ClientTimeout()

    async def fetch(url: str) -> AsyncIterator[bytes]:
        request = ClientRequest("GET", URL(url, encoded=True), loop=loop, ssl=ssl_context)
        connection = await connector.connect(request, traces=[], timeout=timeout)
        assert connection.protocol is not None
        connection.protocol.set_response_params(auto_decompress=False, read_bufsize=2**18)
        response = await request.send(connection)
        try:
            await response.start(connection)
            async for chunk in _pieces(url, response):
                yield chunk
        finally:
            response.release()

    return fetch, connector.close


# -- httptools on an asyncio protocol --------------------------------------------------------

_HIGH_WATER = 4 * 1024 * 1024


class _Exchange(asyncio.Protocol):
    """One keep-alive connection: a request at a time, its response parsed by llhttp."""

    def __init__(self) -> None:
        import httptools

        self._parser = httptools.HttpResponseParser(self)
        self._loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.status = 0
        self.length: int | None = None
        self._pieces: deque[bytes] = deque()
        self._buffered = 0
        self._paused = False
        self._complete = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._headers: asyncio.Future[None] = self._loop.create_future()
        self.reusable = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except Exception as exc:  # a malformed response
            self._fail(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.reusable = False
        if not self._complete:
            self._fail(exc or ConnectionError("the connection closed mid-response"))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"content-length":
            self.length = int(value)

    def on_headers_complete(self) -> None:
        self.status = self._parser.get_status_code()
        if not self._headers.done():
            self._headers.set_result(None)

    def on_body(self, body: bytes) -> None:
        self._pieces.append(body)
        self._buffered += len(body)
        if self._buffered > _HIGH_WATER and not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        self._complete = True
        self.reusable = self._parser.should_keep_alive()
        self._wake()

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _fail(self, exc: BaseException) -> None:
        self._error = exc
        if not self._headers.done():
            self._headers.set_exception(exc)
        self._wake()

    # the client's side
    async def send(self, request: bytes) -> None:
        assert self.transport is not None
        self.status, self.length, self._complete = 0, None, False
        self._headers = self._loop.create_future()
        self.transport.write(request)
        await self._headers

    async def body(self) -> AsyncIterator[bytes]:
        while True:
            if self._pieces:
                piece = self._pieces.popleft()
                self._buffered -= len(piece)
                if self._paused and self._buffered < _HIGH_WATER // 2 and self.transport:
                    self._paused = False
                    self.transport.resume_reading()
                yield piece
            elif self._complete:
                return
            elif self._error is not None:
                raise self._error
            else:
                self._waiter = self._loop.create_future()
                await self._waiter


def httptools_leg(ssl_context: ssl.SSLContext, concurrency: int) -> tuple[Fetch, Any]:
    loop = asyncio.get_running_loop()
    idle: dict[tuple[str, str, int], list[_Exchange]] = {}

    async def connect(scheme: str, host: str, port: int) -> _Exchange:
        tls = ssl_context if scheme == "https" else None
        _, protocol = await loop.create_connection(
            _Exchange, host, port, ssl=tls, server_hostname=host if tls else None
        )
        return protocol

    async def fetch(url: str) -> AsyncIterator[bytes]:
        parts = urlsplit(url)
        scheme, host = parts.scheme, parts.hostname or ""
        port = parts.port or (443 if scheme == "https" else 80)
        key = (scheme, host, port)
        target = parts.path + ("?" + parts.query if parts.query else "")
        request = (
            f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            "Accept-Encoding: identity\r\nUser-Agent: hoverbentley\r\n\r\n"
        ).encode()
        pool = idle.setdefault(key, [])
        conn = pool.pop() if pool else await connect(*key)
        await conn.send(request)
        if conn.status != 200:
            raise RuntimeError(f"{url}: HTTP {conn.status}")
        async for piece in conn.body():
            yield piece
        if conn.reusable and conn.transport is not None and not conn.transport.is_closing():
            pool.append(conn)
        elif conn.transport is not None:
            conn.transport.close()

    async def close() -> None:
        for pool in idle.values():
            for conn in pool:
                if conn.transport is not None:
                    conn.transport.close()

    return fetch, close


# -- pycurl's multi interface on the event loop ----------------------------------------------


class _CurlLoop:
    """One ``CurlMulti`` whose sockets and timer are the event loop's."""

    def __init__(self, ssl_ca: str | None) -> None:
        import pycurl

        self.pycurl = pycurl
        self._loop = asyncio.get_running_loop()
        self._multi = pycurl.CurlMulti()
        self._multi.setopt(pycurl.M_SOCKETFUNCTION, self._on_socket)
        self._multi.setopt(pycurl.M_TIMERFUNCTION, self._on_timer)
        self._timer: asyncio.TimerHandle | None = None
        self._spare: list[Any] = []
        self._ca = ssl_ca
        self._watched: dict[int, int] = {}

    def _on_socket(self, event: int, fd: int, multi: Any, data: Any) -> None:
        pycurl = self.pycurl
        was = self._watched.get(fd, 0)
        want = 0 if event == pycurl.POLL_REMOVE else event
        if was & pycurl.POLL_IN and not want & pycurl.POLL_IN:
            self._loop.remove_reader(fd)
        if was & pycurl.POLL_OUT and not want & pycurl.POLL_OUT:
            self._loop.remove_writer(fd)
        if want & pycurl.POLL_IN and not was & pycurl.POLL_IN:
            self._loop.add_reader(fd, self._act, fd, pycurl.CSELECT_IN)
        if want & pycurl.POLL_OUT and not was & pycurl.POLL_OUT:
            self._loop.add_writer(fd, self._act, fd, pycurl.CSELECT_OUT)
        if want:
            self._watched[fd] = want
        else:
            self._watched.pop(fd, None)

    def _on_timer(self, ms: int) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if ms >= 0:
            self._timer = self._loop.call_later(ms / 1000, self._act, self.pycurl.SOCKET_TIMEOUT, 0)

    def _act(self, fd: int, event: int) -> None:
        self._multi.socket_action(fd, event)
        self._collect()

    def _collect(self) -> None:
        while True:
            queued, done, failed = self._multi.info_read()
            for easy in done:
                self._multi.remove_handle(easy)
                easy.transfer.finish(None)
            for easy, _, message in failed:
                self._multi.remove_handle(easy)
                easy.transfer.finish(ConnectionError(message))
            if not queued:
                return

    def start(self, url: str, transfer: _CurlTransfer) -> Any:
        pycurl = self.pycurl
        easy = self._spare.pop() if self._spare else pycurl.Curl()
        easy.setopt(pycurl.URL, url)
        easy.setopt(pycurl.WRITEFUNCTION, transfer.on_data)
        easy.setopt(pycurl.HTTP_CONTENT_DECODING, 0)
        if self._ca:
            easy.setopt(pycurl.CAINFO, self._ca)
        easy.transfer = transfer
        self._multi.add_handle(easy)
        return easy

    def release(self, easy: Any) -> None:
        easy.transfer = None
        self._spare.append(easy)

    def resume(self, easy: Any) -> None:
        easy.pause(self.pycurl.PAUSE_CONT)


class _CurlTransfer:
    def __init__(self, curl: _CurlLoop) -> None:
        self._curl = curl
        self._loop = asyncio.get_running_loop()
        self.pieces: deque[bytes] = deque()
        self.buffered = 0
        self.paused = False
        self.done: asyncio.Future[None] = self._loop.create_future()
        self._waiter: asyncio.Future[None] | None = None

    def on_data(self, data: bytes) -> int | None:
        if self.buffered > _HIGH_WATER:
            self.paused = True
            pause: int = self._curl.pycurl.WRITEFUNC_PAUSE
            return pause  # the piece is offered again once resumed
        self.pieces.append(data)
        self.buffered += len(data)
        self._wake()
        return None

    def finish(self, error: BaseException | None) -> None:
        if error is None:
            self.done.set_result(None)
        else:
            self.done.set_exception(error)
        self._wake()

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self) -> None:
        self._waiter = self._loop.create_future()
        await self._waiter


def pycurl_leg(ca_file: str | None, concurrency: int) -> tuple[Fetch, Any]:
    curl = _CurlLoop(ca_file)

    async def fetch(url: str) -> AsyncIterator[bytes]:
        transfer = _CurlTransfer(curl)
        easy = curl.start(url, transfer)
        curl._act(curl.pycurl.SOCKET_TIMEOUT, 0)  # kick off the new handle
        try:
            while True:
                if transfer.pieces:
                    piece = transfer.pieces.popleft()
                    transfer.buffered -= len(piece)
                    if transfer.paused and transfer.buffered < _HIGH_WATER // 2:
                        transfer.paused = False
                        curl.resume(easy)
                    yield piece
                elif transfer.done.done():
                    transfer.done.result()
                    status = easy.getinfo(curl.pycurl.RESPONSE_CODE)
                    if status != 200:
                        raise RuntimeError(f"{url}: HTTP {status}")
                    return
                else:
                    await transfer.wait()
        finally:
            curl.release(easy)

    async def close() -> None:
        return None

    return fetch, close


# -- the common file work --------------------------------------------------------------------


def _accept(digest: Digest) -> None:
    """Nothing to check here: the driver compares the bytes written with the set's."""


async def download(fetch: Fetch, url: str, dest: Path) -> int:
    async with PartFile(dest, url, resume=False) as part:
        async for piece in fetch(url):
            await part.write(piece)
        await part.end(_accept)
        return part.size


async def main(args: argparse.Namespace) -> None:
    urls = Path(args.urls).read_text().split()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    context = ssl.create_default_context(cafile=args.ca_file or None)
    legs: dict[str, Callable[[], tuple[Fetch, Callable[[], Awaitable[None]]]]] = {
        "session": lambda: session_leg(context, args.concurrency),
        "lean": lambda: lean_leg(context, args.concurrency),
        "httptools": lambda: httptools_leg(context, args.concurrency),
        "pycurl": lambda: pycurl_leg(args.ca_file or None, args.concurrency),
    }
    fetch, close = legs[args.leg]()
    gate = asyncio.Semaphore(args.concurrency)
    total = 0

    async def one(index: int, url: str) -> None:
        nonlocal total
        async with gate:
            size = await download(fetch, url, out / f"{index}.bin")
        total += size

    try:
        await asyncio.gather(*(one(i, u) for i, u in enumerate(urls)))
    finally:
        await close()
    print(json.dumps({"files": len(urls), "bytes": total}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--leg", required=True, choices=("session", "lean", "httptools", "pycurl"))
    parser.add_argument("--urls", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--ca-file", default="")
    asyncio.run(main(parser.parse_args()))
