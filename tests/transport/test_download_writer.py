"""The download data path: batched writes off the event loop, and the body stall watchdog.

Real loopback servers; assertions on the file, its hash, the requests the server saw and
the descriptors the process holds.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path

import anyio
import pytest
from aiohttp import web

from hoverbentley._http.credentials import ApiScope
from hoverbentley._http.transport import Transport
from hoverbentley.config import HttpConfig
from hoverbentley.download import download_file, part_path
from tests.support import serve

pytestmark = pytest.mark.anyio

ETAG = '"v1"'


def _transport(**values: object) -> Transport:
    settings: dict[str, object] = {
        "requests_per_minute": None,
        "backoff_base": 0.01,
        "backoff_max": 0.02,
        **values,
    }
    return Transport(HttpConfig(**settings), ApiScope("http://api.test"))  # type: ignore[arg-type]


@asynccontextmanager
async def _app(handler: web.Handler) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_get("/b", handler)
    async with serve(app) as base:
        yield base


def _descriptors_of(path: Path) -> int:
    """How many descriptors of this process are open on ``path``."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with suppress(OSError):
            count += os.readlink(f"/proc/self/fd/{fd}") == str(path)
    return count


async def test_a_chunked_body_of_many_small_pieces_is_written_whole(tmp_path: Path) -> None:
    """3 MiB in 512-byte HTTP chunks: a batch ends by its number of pieces (writev takes at
    most 1024 buffers) before it reaches 1 MiB."""
    pieces = [bytes([n % 251]) * 512 for n in range(6 * 1024)]

    async def blob(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"ETag": ETAG})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for piece in pieces:
            await response.write(piece)
        await response.write_eof()
        return response

    async with _app(blob) as base, _transport() as transport:
        result = await download_file(transport, f"{base}/b", tmp_path / "f")
    body = b"".join(pieces)
    assert (tmp_path / "f").read_bytes() == body
    assert result.sha256 == hashlib.sha256(body).hexdigest() and result.size == len(body)
    assert not part_path(tmp_path / "f").exists()


async def test_pauses_shorter_than_the_stall_timeout_never_cut_the_body(tmp_path: Path) -> None:
    """Ten pauses of 0.15 s under a 0.5 s stall timeout: 1.5 s in all, one request."""
    seen: list[str | None] = []
    piece = b"x" * (300 * 1024)

    async def blob(request: web.Request) -> web.StreamResponse:
        seen.append(request.headers.get("Range"))
        response = web.StreamResponse(
            headers={"ETag": ETAG, "Content-Length": str(10 * len(piece))}
        )
        await response.prepare(request)
        for _ in range(10):
            await asyncio.sleep(0.15)
            await response.write(piece)
        return response

    async with _app(blob) as base, _transport(stall_timeout=0.5) as transport:
        result = await download_file(transport, f"{base}/b", tmp_path / "f")
    assert seen == [None]
    assert result.size == 10 * len(piece) and result.received == 10 * len(piece)


async def test_a_body_that_never_starts_is_cut_as_stalled_and_fetched_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    body = os.urandom(2 * 1024 * 1024)
    calls = 0

    async def blob(request: web.Request) -> web.StreamResponse:
        nonlocal calls
        calls += 1
        if calls == 1:
            response = web.StreamResponse(headers={"ETag": ETAG, "Content-Length": str(len(body))})
            await response.prepare(request)
            await asyncio.sleep(30)  # headers sent, no byte of the body
            return response
        return web.Response(body=body, headers={"ETag": ETAG})

    caplog.set_level(logging.INFO, logger="hoverbentley")
    async with _app(blob) as base, _transport(stall_timeout=0.3) as transport:
        with anyio.fail_after(20):
            result = await download_file(transport, f"{base}/b", tmp_path / "f")
    assert calls == 2 and result.sha256 == hashlib.sha256(body).hexdigest()
    assert any("the body stalled: no data for 0.3 s" in r.getMessage() for r in caplog.records)


async def test_a_download_cancelled_mid_file_leaves_no_descriptor_open(tmp_path: Path) -> None:
    """Cancelled once the server has sent 3.25 MiB, batches written: the .part is closed."""
    piece = b"y" * (256 * 1024)
    sent_enough = anyio.Event()

    async def blob(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"ETag": ETAG, "Content-Length": str(64 * len(piece))}
        )
        await response.prepare(request)
        for n in range(64):
            await response.write(piece)
            if n == 12:
                sent_enough.set()
                await asyncio.sleep(30)
        return response

    part = part_path(tmp_path / "f")
    async with _app(blob) as base, _transport() as transport:
        async with anyio.create_task_group() as group:

            async def fetch() -> None:
                await download_file(transport, f"{base}/b", tmp_path / "f")

            group.start_soon(fetch)
            await sent_enough.wait()
            # Let the client read what was sent, so batches reach the writer.
            while not part.exists() or part.stat().st_size < 2 * 1024 * 1024:
                await anyio.sleep(0.01)
            assert _descriptors_of(part) == 1
            group.cancel_scope.cancel()
        assert _descriptors_of(part) == 0
    assert not (tmp_path / "f").exists()
    assert part.read_bytes() == b"y" * part.stat().st_size
