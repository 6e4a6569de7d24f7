"""The one transfer loop against its two writers: a sink (an upload) and a ``.part`` file.

The scripted file server of test_download_paths cuts bodies mid-file; the assertions are on
the bytes each writer ends with, the requests the server saw and the thread hops taken.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from hoverbentley._http import part_file
from hoverbentley._http.credentials import ApiScope
from hoverbentley._http.part_file import PartFile, part_path
from hoverbentley._http.sink import SinkWriter
from hoverbentley._http.transfer import MAX_RESTARTS, transfer
from hoverbentley._http.transport import Transport
from hoverbentley.errors import APIConnectionError, IntegrityError
from tests.support import fast, serve
from tests.transport.test_download_paths import DATA, SHA, FileServer

pytestmark = pytest.mark.anyio
CHUNK = 4096


class MemorySink:
    """A :class:`~hoverbentley._http.sink.Sink` in memory that counts its restarts."""

    def __init__(self, name: str = "prefix/f.bin") -> None:
        self.name = name
        self.data = bytearray()
        self.restarts = 0

    @property
    def size(self) -> int:
        return len(self.data)

    async def write(self, data: bytes) -> None:
        self.data += data

    async def restart(self) -> None:
        self.restarts += 1
        self.data.clear()


def _transport(base: str, retries: int) -> Transport:
    # A small read buffer, so that what arrived before a cut reaches the writer.
    return Transport(fast(max_retries=retries, read_bufsize=CHUNK), ApiScope(base))


def _md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()


async def test_a_cut_body_resumes_into_the_sink_by_range(tmp_path: Path) -> None:
    server = FileServer(plan=["cut"])
    sink = MemorySink()
    async with serve(server.app()) as base, _transport(base, 1) as t:
        result = await transfer(t, f"{base}/f", SinkWriter(sink, md5=True), md5=_md5(DATA))
    assert bytes(sink.data) == DATA and sink.restarts == 0
    assert (result.sha256, result.size, result.received) == (SHA, len(DATA), len(DATA))
    assert result.path == Path("prefix/f.bin") and result.etag == '"v1"'
    first, second = server.log
    assert first["range"] is None
    assert second["range"] == f"bytes={len(DATA) // 2}-" and second["if_range"] == '"v1"'


async def test_without_an_etag_the_sink_starts_over(tmp_path: Path) -> None:
    server = FileServer(plan=["cut"], etag=None)
    sink = MemorySink()
    async with serve(server.app()) as base, _transport(base, 1) as t:
        result = await transfer(t, f"{base}/f", SinkWriter(sink))
    assert bytes(sink.data) == DATA and result.sha256 == SHA
    assert sink.restarts == 1 and [e["range"] for e in server.log] == [None, None]


async def test_bytes_a_sink_holds_before_the_transfer_are_dropped() -> None:
    server = FileServer()
    sink = MemorySink()
    sink.data += b"left over"
    async with serve(server.app()) as base, _transport(base, 0) as t:
        result = await transfer(t, f"{base}/f", SinkWriter(sink))
    assert bytes(sink.data) == DATA and result.resumed_from == 0
    assert server.log[0]["range"] is None


async def test_an_md5_mismatch_into_a_sink_is_an_integrity_error() -> None:
    server = FileServer()
    async with serve(server.app()) as base, _transport(base, 0) as t:
        with pytest.raises(IntegrityError, match="Content-MD5 mismatch"):
            await transfer(t, f"{base}/f", SinkWriter(MemorySink(), md5=True), md5=_md5(b"x"))


async def test_an_md5_to_check_needs_a_writer_that_takes_it() -> None:
    async with Transport(fast(), ApiScope("http://127.0.0.1:9")) as t:
        with pytest.raises(ValueError, match="takes the MD5"):
            await transfer(t, "http://127.0.0.1:9/f", SinkWriter(MemorySink()), md5=_md5(b""))


async def test_a_part_file_cut_in_one_transfer_is_resumed_by_the_next(tmp_path: Path) -> None:
    server = FileServer(plan=["cut"])
    dest = tmp_path / "f.bin"
    async with serve(server.app()) as base:
        async with _transport(base, 0) as t, PartFile(dest, "id", chunk_size=CHUNK) as part:
            with pytest.raises(APIConnectionError):
                await transfer(t, f"{base}/f", part)
        kept = part_path(dest).stat().st_size
        assert 0 < kept <= len(DATA) // 2 and not dest.exists()
        async with _transport(base, 0) as t, PartFile(dest, "id", chunk_size=CHUNK) as part:
            assert part.size == kept and part.etag == '"v1"'
            result = await transfer(t, f"{base}/f", part)
    assert dest.read_bytes() == DATA and result.sha256 == SHA
    assert (result.resumed_from, result.received) == (kept, len(DATA) - kept)
    assert server.log[1]["range"] == f"bytes={kept}-" and server.log[1]["if_range"] == '"v1"'
    assert not list(tmp_path.glob("f.bin.part*"))


async def test_a_part_file_transferred_again_continues_its_bytes(tmp_path: Path) -> None:
    """As after a re-signed URL: the same writer, a second call, the bytes it already holds."""
    server = FileServer(plan=["cut"])
    dest = tmp_path / "f.bin"
    async with (
        serve(server.app()) as base,
        _transport(base, 0) as t,
        PartFile(dest, "id", chunk_size=CHUNK) as part,
    ):
        with pytest.raises(APIConnectionError):
            await transfer(t, f"{base}/f?sig=1", part)
        held = part.size
        result = await transfer(t, f"{base}/f?sig=2", part)
    assert dest.read_bytes() == DATA and result.resumed_from == held > 0
    assert server.log[1]["range"] == f"bytes={held}-"


async def test_a_server_whose_ranges_never_match_is_given_up_on(tmp_path: Path) -> None:
    """A 206 that starts elsewhere than asked, every time: the .part and the sink alike."""
    calls = 0

    async def handler(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        headers = {"ETag": '"v1"', "Content-Range": f"bytes 5-{len(DATA) - 1}/{len(DATA)}"}
        return web.Response(status=206, body=DATA[5:], headers=headers)

    app = web.Application()
    app.router.add_get("/f", handler)
    writers: list[Callable[[], Any]] = [
        lambda: PartFile(tmp_path / "f", "id"),
        lambda: _Entered(SinkWriter(MemorySink())),
    ]
    async with serve(app) as base, _transport(base, 0) as t:
        for make in writers:
            calls = 0
            async with make() as writer:
                with pytest.raises(IntegrityError, match="ranges do not match"):
                    await transfer(t, f"{base}/f", writer)
            assert calls == MAX_RESTARTS + 1
    assert not (tmp_path / "f").exists()


class _Entered:
    def __init__(self, writer: SinkWriter) -> None:
        self.writer = writer

    async def __aenter__(self) -> SinkWriter:
        return self.writer

    async def __aexit__(self, *exc: object) -> None:
        return None


async def test_a_small_body_costs_no_thread_hop_of_its_own_and_no_state_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A small body is hashed, checked and written on the loop and committed with others
    (no call into the file-work threads); a larger body goes in batches, each hashed by one
    call and written by another (two stages), then the last call does the rest."""
    hops: list[str] = []
    original = part_file.run_blocking

    async def counted(fn: Callable[..., Any], *args: object) -> Any:
        hops.append(fn.__name__)
        return await original(fn, *args)

    class Counted(ThreadPoolExecutor):
        def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
            hops.append(fn.__name__)
            return super().submit(fn, *args, **kwargs)

    executor = Counted(2)
    monkeypatch.setattr(part_file, "run_blocking", counted)
    monkeypatch.setattr(part_file, "pool", lambda: executor)
    server = FileServer()
    async with serve(server.app()) as base, _transport(base, 0) as t:
        async with PartFile(tmp_path / "small", "a", md5=True) as part:
            result = await transfer(t, f"{base}/f", part, md5=_md5(DATA))
        assert hops == [] and result.sha256 == SHA
        async with PartFile(tmp_path / "large", "b", chunk_size=CHUNK) as part:
            await transfer(t, f"{base}/f", part)
    executor.shutdown()
    batches = hops[:-1]
    assert batches and hops[-1] == "_finish"
    assert batches.count("_hash") == batches.count("_append") == len(batches) // 2
    assert (tmp_path / "small").read_bytes() == (tmp_path / "large").read_bytes() == DATA
    assert not list(tmp_path.glob("*.part*"))


async def test_batches_grow_to_large_ones_past_the_first_bytes_of_a_body(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past :data:`~part_file.GROW_AFTER` bytes a body goes to the threads in batches of
    :data:`~part_file.LARGE_BATCH` (a quarter of the thread calls); every byte is written."""
    written: list[int] = []
    original = part_file._append

    def counted(*args: Any) -> Any:
        written.append(sum(len(piece) for piece in args[-1]))
        return original(*args)

    monkeypatch.setattr(part_file, "_append", counted)
    piece = 64 * 1024
    body = hashlib.sha256(b"seed").digest() * (24 * 1024 * 1024 // 32)  # 24 MiB
    async with PartFile(tmp_path / "big", "id") as part:
        for start in range(0, len(body), piece):
            await part.write(body[start : start + piece])
        await part.end(lambda digest: None)
    small, large = part_file.CHUNK_SIZE, part_file.LARGE_BATCH
    assert written == [small] * (part_file.GROW_AFTER // small) + [large] * 4
    assert (tmp_path / "big").read_bytes() == body


@pytest.mark.parametrize("kind", ["link to a file", "link to a pipe", "pipe", "directory"])
async def test_a_part_that_is_no_regular_file_is_never_read_or_written_through(
    tmp_path: Path, kind: str
) -> None:
    """A ``.part`` with a state that names the file, as a resume finds it, but no regular
    file: an error naming the part, at once (a pipe is not waited on), and nothing renamed
    onto the final path."""
    dest, outside = tmp_path / "f.bin", tmp_path / "outside.bin"
    outside.write_bytes(b"not the archive's")
    part = tmp_path / "f.bin.part"
    if kind == "directory":
        part.mkdir()
    elif kind == "pipe":
        os.mkfifo(part)
    else:
        target = outside if kind == "link to a file" else tmp_path / "fifo"
        if kind == "link to a pipe":
            os.mkfifo(target)
        part.symlink_to(target)
    (tmp_path / "f.bin.part.json").write_text(json.dumps({"url": "u", "etag": '"e"'}))
    said = "Is a directory" if kind == "directory" else "not a regular file|symbolic links"
    with pytest.raises(OSError, match=said) as caught:
        async with PartFile(dest, "u") as p:
            await p.end(lambda digest: None)
    assert caught.value.filename == str(part)
    assert not dest.exists() and not dest.is_symlink()
    assert outside.read_bytes() == b"not the archive's"


async def test_a_state_file_that_is_a_link_is_replaced_not_written_through(
    tmp_path: Path,
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("important")
    (tmp_path / "f.bin.part.json").symlink_to(victim)
    body = b"x" * (3 * part_file.CHUNK_SIZE)
    async with PartFile(tmp_path / "f.bin", "u") as p:
        await p.restart('"e"')  # an ETag: the state is recorded with the first batch
        await p.write(body)
        await p.close()
        assert not (tmp_path / "f.bin.part.json").is_symlink()
    assert victim.read_text() == "important"
