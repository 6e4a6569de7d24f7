"""A proxy between the archive and a store that fails some of the store's requests."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from tests.support import serve

_HOP = {"host", "content-length", "transfer-encoding", "connection"}


@dataclass
class FaultyProxy:
    """Forwards to ``target``; of each kind of write (PUT, POST), the first and then every
    ``every``-th is answered 500 or reset (with ``only``: of the writes whose path and query
    contain it). A write's kind is the names of its query parameters (a plain PUT, an upload's
    start, a part, its completion, ...), so every kind fails whatever order they come in.

    Faults alternate between a 500 before the request reaches the store and a connection
    reset after it did (the client cannot tell whether the write happened); without
    ``resets``, every fault is a 500.
    """

    target: str
    every: int = 3
    only: str = ""
    resets: bool = True
    writes: dict[str, int] = field(default_factory=dict)
    faults: list[tuple[str, str, str]] = field(default_factory=list)

    def app(self, session: aiohttp.ClientSession) -> web.Application:
        async def forward(request: web.Request) -> web.StreamResponse:
            body = await request.read()
            fault = None
            if request.method in ("PUT", "POST") and self.only in request.path_qs:
                kind = f"{request.method} {sorted(request.query)}"
                seen = self.writes[kind] = self.writes.get(kind, 0) + 1
                if (seen - 1) % self.every == 0:
                    reset = self.resets and len(self.faults) % 2 == 1
                    fault = "reset" if reset else "500"
                    self.faults.append((fault, request.method, request.path_qs))
            if fault == "500":
                return web.Response(status=500, text="<Error><Code>InternalError</Code></Error>")
            headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
            headers["Host"] = request.headers.get("Host", "")
            async with session.request(
                request.method,
                self.target + request.path_qs,
                headers=headers,
                # As sent: Azure's Shared Key signs the length and type too.
                data=io.BytesIO(body) if body else None,
                skip_auto_headers=("Content-Type",),
            ) as upstream:
                answer = await upstream.read()
                if fault == "reset":
                    assert request.transport is not None
                    request.transport.close()
                    return web.Response(status=500)
                out = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP}
                return web.Response(status=upstream.status, headers=out, body=answer)

        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", forward)
        return app


@asynccontextmanager
async def faulty_proxy(
    target: str, every: int = 3, only: str = "", *, resets: bool = True
) -> AsyncIterator[tuple[FaultyProxy, str]]:
    """The proxy in front of ``target``, and its URL."""
    proxy = FaultyProxy(target, every, only, resets)
    async with (
        aiohttp.ClientSession(auto_decompress=False) as session,
        serve(proxy.app(session)) as url,
    ):
        yield proxy, url
