"""The lean client: HTTP/1.1 requests on keep-alive connections of its own.

A download is two requests, the API's redirect and the storage GET, and its cost is per
request more than per byte. Sent through an aiohttp session, each builds a ``ClientRequest``
and a ``ClientResponse`` with their helpers (cookies, timers, traces, header multidicts and
payload machinery); here a request is a few formatted lines written to a pooled connection
and a response parsed by llhttp (:mod:`.lean_connection`). What is around it stays the
transport's: redirects, credentials, rate limit, retries, host health, the stall watchdog
and resume. Measured in ``benchmarks/legs.py``. The transport sends every request through it
when it owns its session and has no trace configs (a caller's session, or tracing, sees
every request), so a command that only talks to the APIs never imports aiohttp.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
from collections.abc import Mapping
from urllib.parse import SplitResult, urlsplit

from .config import HttpConfig
from .failures import ConnectFailed
from .inflate import ACCEPT_ENCODING
from .lean_connection import LeanConnection, LeanResponse

#: Seconds an idle connection is kept for the next request (aiohttp's default too).
KEEPALIVE = 15.0
#: Methods whose request may be sent again when a kept connection turns out to have been
#: closed by the server while idle (RFC 9110, 9.2.2); any other fails as aiohttp's would.
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
#: Methods whose request without a body has no ``Content-Length`` (aiohttp's choice too).
_NO_BODY = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "CONNECT"})

_Key = tuple[str, str, int]


class LeanClient:
    """A pool of :class:`LeanConnection` per host, within the configured connection limits."""

    def __init__(self, config: HttpConfig) -> None:
        self._config = config
        self._loop = asyncio.get_running_loop()
        self._idle: dict[_Key, list[LeanConnection]] = {}
        self._all = asyncio.Semaphore(config.max_connections)
        self._per_host: dict[_Key, asyncio.Semaphore] = {}
        self._ssl: ssl.SSLContext | None = None
        self._agent = f"User-Agent: {config.user_agent}\r\n"
        # Twice aiohttp's read buffer: a fast socket keeps the reader fed, and 64 connections
        # hold at most 128 MiB by default.
        self._connection = functools.partial(LeanConnection, 2 * config.read_bufsize)
        self._sweep: asyncio.TimerHandle | None = None
        self._closed = False

    async def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None = None,
        *,
        decompress: bool = False,
    ) -> LeanResponse:
        """Send ``method url`` (wire-safe already) with ``headers`` and ``body``; the
        response once its headers are in.

        ``decompress``: ask for gzip or deflate (unless ``headers`` name an encoding) and
        hand the body on decompressed. Raises :class:`ConnectFailed` when no connection
        could be opened, ``OSError``, ``asyncio.TimeoutError`` (no response within
        ``read_timeout``) or :class:`PayloadError` (a malformed response) after the request
        was sent. The caller releases the response.
        """
        parts = urlsplit(url)
        scheme = parts.scheme
        host = parts.hostname or ""
        port = parts.port or (443 if scheme == "https" else 80)
        key = (scheme, host, port)
        request = request_head(method, parts, headers, self._agent, decompress=decompress)
        if body is not None or method not in _NO_BODY:
            request += f"Content-Length: {len(body or b'')}\r\n\r\n".encode()
        else:
            request += b"\r\n"
        if body:
            request += body
        # The host's slot first: waiting for a busy host must not hold a slot of the total
        # that a request to another host could use.
        slot = self._slot(key)
        await slot.acquire()
        try:
            await self._all.acquire()
        except BaseException:
            slot.release()
            raise
        try:
            return await self._exchange(
                key,
                request,
                slot,
                retry_stale=method in _IDEMPOTENT,
                decompress=decompress,
                head=method == "HEAD",
            )
        except BaseException:
            slot.release()
            self._all.release()
            raise

    async def _exchange(
        self,
        key: _Key,
        request: bytes,
        slot: asyncio.Semaphore,
        *,
        retry_stale: bool,
        decompress: bool,
        head: bool,
    ) -> LeanResponse:
        while True:
            connection = self._reuse(key)
            reused = connection is not None
            if connection is None:
                connection = await self._connect(key)
            waiting = connection.start(request, decompress=decompress, head=head)
            timer = self._loop.call_later(self._config.read_timeout, _expire, waiting)
            try:
                response = await waiting
            except BaseException as exc:
                # asyncio.TimeoutError is an OSError from 3.11: a timeout is never "stale".
                stale = (
                    retry_stale
                    and reused
                    and connection.fresh
                    and isinstance(exc, OSError)
                    and not isinstance(exc, asyncio.TimeoutError)
                )
                connection.close()
                if stale:
                    continue  # the server closed it while idle: a new connection, once more
                raise
            finally:
                timer.cancel()

            def released(done: LeanConnection, reusable: bool, key: _Key = key) -> None:
                if reusable and not self._closed:
                    done.idle_since = self._loop.time()
                    self._idle.setdefault(key, []).append(done)
                    if self._sweep is None:
                        self._sweep = self._loop.call_later(KEEPALIVE, self._close_expired)
                elif reusable:
                    done.close()  # the client closed while this response was being read
                slot.release()
                self._all.release()

            response.on_release(released)
            return response

    def _slot(self, key: _Key) -> asyncio.Semaphore:
        slot = self._per_host.get(key)
        if slot is None:
            # 0 means no limit per host: the total limit still holds.
            limit = self._config.max_connections_per_host or self._config.max_connections
            slot = self._per_host[key] = asyncio.Semaphore(limit)
        return slot

    def _reuse(self, key: _Key) -> LeanConnection | None:
        idle = self._idle.get(key)
        now = self._loop.time()
        while idle:
            connection = idle.pop()  # the most recently used: the likeliest to be alive
            if connection.reusable and now - connection.idle_since < KEEPALIVE:
                return connection
            connection.close()
        return None

    def _close_expired(self) -> None:
        """Close the connections idle for :data:`KEEPALIVE` seconds (as aiohttp does), and
        look again while any are left."""
        self._sweep = None
        now = self._loop.time()
        for key, idle in list(self._idle.items()):
            keep = [c for c in idle if c.reusable and now - c.idle_since < KEEPALIVE]
            for connection in idle:
                if connection not in keep:
                    connection.close()
            if keep:
                self._idle[key] = keep
            else:
                del self._idle[key]
        if self._idle and not self._closed:
            self._sweep = self._loop.call_later(KEEPALIVE, self._close_expired)

    async def _connect(self, key: _Key) -> LeanConnection:
        scheme, host, port = key
        context = self._tls() if scheme == "https" else None
        try:
            _, connection = await asyncio.wait_for(
                self._loop.create_connection(
                    self._connection,
                    host,
                    port,
                    ssl=context,
                    server_hostname=host if context is not None else None,
                ),
                self._config.connect_timeout,
            )
        except (OSError, asyncio.TimeoutError) as exc:
            raise ConnectFailed(exc) from exc
        return connection

    def _tls(self) -> ssl.SSLContext:
        # Built on first use: loading the CA bundle costs tens of milliseconds.
        if self._ssl is None:
            self._ssl = ssl.create_default_context(cafile=self._config.ca_file)
        return self._ssl

    async def aclose(self) -> None:
        """Close every idle connection (a response still being read closes with its release)."""
        self._closed = True
        if self._sweep is not None:
            self._sweep.cancel()
            self._sweep = None
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()


def request_head(
    method: str,
    url: SplitResult,
    headers: Mapping[str, str],
    agent: str,
    *,
    decompress: bool,
) -> bytes:
    """The request line and headers of ``method url``, without the blank line that ends
    them (``Content-Length`` may follow). ``agent`` is the whole ``User-Agent`` line, sent
    unless ``headers`` name one; ``Host`` comes from the URL unless they name one, without a
    default port (as browsers and aiohttp send it). Values go as UTF-8, as aiohttp sends a
    value outside ASCII."""
    target = url.path or "/"
    if url.query:
        target += "?" + url.query
    lines = [f"{method} {target} HTTP/1.1\r\n"]
    named = set()
    for name, value in headers.items():
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
            raise ValueError(f"header {name!r} holds a line break")
        lines.append(f"{name}: {value}\r\n")
        named.add(name.lower())
    if "host" not in named:
        authority = url.netloc.rpartition("@")[2]
        default = ":443" if url.scheme == "https" else ":80"
        if authority.endswith(default):
            authority = authority[: -len(default)]
        lines.insert(1, f"Host: {authority}\r\n")
    if "user-agent" not in named:
        lines.append(agent)
    if "accept" not in named:
        lines.append("Accept: */*\r\n")
    if decompress and "accept-encoding" not in named:
        lines.append(f"Accept-Encoding: {ACCEPT_ENCODING}\r\n")
    return "".join(lines).encode()


def _expire(waiting: asyncio.Future[LeanResponse]) -> None:
    if not waiting.done():
        waiting.set_exception(asyncio.TimeoutError())
