"""download_file's resume and integrity paths against a scripted loopback file server."""

from __future__ import annotations

import base64
import hashlib
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web

from hoverbentley._http.credentials import ApiScope
from hoverbentley._http.transport import Transport
from hoverbentley.download import download_file
from hoverbentley.emulator import Emulator, EmulatorConfig
from hoverbentley.errors import APIConnectionError, ConfigurationError, IntegrityError
from tests.support import fast, hover_client, serve

pytestmark = pytest.mark.anyio
DATA = random.Random(3).randbytes(64 * 1024)
SHA = hashlib.sha256(DATA).hexdigest()
CHUNK = 4096  # smaller than DATA: the streaming path through .part


@dataclass
class FileServer:
    """Serves DATA at /{name}; each request takes the next action of ``plan`` (then "ok")."""

    plan: list[str] = field(default_factory=list)
    etag: str | None = '"v1"'
    log: list[dict[str, str | int | None]] = field(default_factory=list)

    def app(self) -> web.Application:
        async def handler(request: web.Request) -> web.StreamResponse:
            action = self.plan.pop(0) if self.plan else "ok"
            entry: dict[str, str | int | None] = {
                "path": request.path,
                "action": action,
                "range": request.headers.get("Range"),
                "if_range": request.headers.get("If-Range"),
            }
            self.log.append(entry)
            headers = {"ETag": self.etag} if self.etag else {}
            start = 0
            match = re.fullmatch(r"bytes=(\d+)-", request.headers.get("Range", ""))
            if match and request.headers.get("If-Range", self.etag) == self.etag:
                start = int(match.group(1))
            if action == "416-whole":
                return web.Response(status=416, headers={"Content-Range": f"bytes */{len(DATA)}"})
            if action == "416-other":
                other = len(DATA) + 7
                return web.Response(status=416, headers={"Content-Range": f"bytes */{other}"})
            if action == "wrong-range":
                headers["Content-Range"] = f"bytes 0-{len(DATA) - 1}/{len(DATA)}"
                return web.Response(status=206, body=DATA, headers=headers)
            if action == "short-range":
                headers["Content-Range"] = f"bytes {start}-{len(DATA) - 1}/{len(DATA) + 100}"
                return web.Response(status=206, body=DATA[start:], headers=headers)
            body = DATA[start:]
            status = 206 if start else 200
            if start:
                headers["Content-Range"] = f"bytes {start}-{len(DATA) - 1}/{len(DATA)}"
            entry["status"] = status
            if action == "ok":
                return web.Response(status=status, body=body, headers=headers)
            # "cut": half the body, then the connection drops; "overlong": the whole body of a
            # response that announced more, then the connection drops.
            extra = 10 if action == "overlong" else 0
            response = web.StreamResponse(status=status, headers=headers)
            response.content_length = len(body) + extra
            await response.prepare(request)
            await response.write(body if action == "overlong" else body[: len(body) // 2])
            assert request.transport is not None
            request.transport.abort()
            return response

        app = web.Application()
        app.router.add_get("/{name}", handler)
        return app


async def _download(base: str, dest: Path, retries: int, name: str = "f", **kw: str) -> object:
    # A small read buffer, so that what arrived before a cut reaches the .part file.
    config = fast(max_retries=retries, read_bufsize=CHUNK)
    async with Transport(config, ApiScope(base)) as t:
        return await download_file(t, f"{base}/{name}", dest, chunk_size=CHUNK, **kw)


async def _interrupted(base: str, dest: Path, name: str = "f") -> None:
    """A first download that breaks off, leaving ``dest.part`` behind."""
    with pytest.raises(APIConnectionError):
        await _download(base, dest, 0, name)
    assert dest.with_name(dest.name + ".part").stat().st_size > 0


async def test_wrong_content_range_starts_over(tmp_path: Path) -> None:
    server = FileServer(plan=["cut", "wrong-range", "ok"])
    dest = tmp_path / "f.bin"
    async with serve(server.app()) as base:
        await _interrupted(base, dest)
        result = await _download(base, dest, 1)
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == SHA == result.sha256  # type: ignore[attr-defined]
    assert [e["action"] for e in server.log] == ["cut", "wrong-range", "ok"]
    assert server.log[1]["range"] and server.log[2]["range"] is None


async def test_weak_etag_is_never_sent_as_if_range(tmp_path: Path) -> None:
    server = FileServer(plan=["cut"], etag='W/"v1"')
    dest = tmp_path / "f.bin"
    async with serve(server.app()) as base:
        await _download(base, dest, 1)
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == SHA
    assert (server.log[1]["range"], server.log[1]["if_range"]) == (None, None)


async def test_416_for_a_part_already_whole_only_renames(tmp_path: Path) -> None:
    server = FileServer(plan=["overlong", "416-whole"])
    dest = tmp_path / "f.bin"
    async with serve(server.app()) as base:
        await _interrupted(base, dest)
        result = await _download(base, dest, 0)
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == SHA
    assert result.received == 0  # type: ignore[attr-defined]
    assert [e["action"] for e in server.log] == ["overlong", "416-whole"]
    assert server.log[1]["range"] == f"bytes={len(DATA)}-"


async def test_416_for_another_length_starts_over(tmp_path: Path) -> None:
    server = FileServer(plan=["cut", "416-other", "ok"])
    dest = tmp_path / "f.bin"
    async with serve(server.app()) as base:
        await _interrupted(base, dest)
        await _download(base, dest, 0)
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == SHA
    assert server.log[1]["range"] and server.log[2]["range"] is None


async def test_fewer_bytes_than_announced_is_an_integrity_error(tmp_path: Path) -> None:
    server = FileServer(plan=["cut", "short-range"])
    dest = tmp_path / "f.bin"
    async with serve(server.app()) as base:
        await _interrupted(base, dest)
        with pytest.raises(IntegrityError, match=r"received \d+ bytes where \d+ were announced"):
            await _download(base, dest, 0)
    assert not dest.exists()


async def test_corrupt_part_state_starts_over(tmp_path: Path) -> None:
    server = FileServer(plan=["cut"])
    dest = tmp_path / "f.bin"
    async with serve(server.app()) as base:
        await _interrupted(base, dest)
        dest.with_name("f.bin.part.json").write_bytes(b"{not json")
        await _download(base, dest, 0)
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == SHA
    assert server.log[1]["range"] is None


async def test_part_of_another_url_is_not_continued(tmp_path: Path) -> None:
    server = FileServer(plan=["cut"])
    dest = tmp_path / "f.bin"
    async with serve(server.app()) as base:
        await _interrupted(base, dest, "old")
        await _download(base, dest, 0, "new")
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == SHA
    assert server.log[1]["path"] == "/new" and server.log[1]["range"] is None


async def test_md5_mismatch_on_the_streaming_path_keeps_nothing(tmp_path: Path) -> None:
    server = FileServer()
    dest = tmp_path / "f.bin"
    wrong = base64.b64encode(hashlib.md5(b"other", usedforsecurity=False).digest()).decode()
    async with serve(server.app()) as base:
        with pytest.raises(IntegrityError, match="Content-MD5 mismatch"):
            await _download(base, dest, 0, md5=wrong)
        right = base64.b64encode(hashlib.md5(DATA, usedforsecurity=False).digest()).decode()
        await _download(base, tmp_path / "g.bin", 0, md5=right)
    assert not dest.exists() and not list(tmp_path.glob("f.bin.part*"))
    assert (tmp_path / "g.bin").read_bytes() == DATA


@pytest.mark.parametrize(
    ("switches", "resumed"),
    [({"storage_etags": False}, False), ({"storage_ranges": False}, True)],
    ids=["no-etag", "range-ignored"],
)
async def test_emulator_storage_without_etags_or_ranges(
    tmp_path: Path, switches: dict[str, bool], resumed: bool
) -> None:
    """Without an ETag a broken transfer starts over (no unguarded Range); a server that
    ignores the Range sends the whole file, which replaces the part."""
    big = "/api/v3/models/15081683/artifacts/cad_export.dwg"
    config = EmulatorConfig(jobs=0, size_overrides={big: 6 * 1024 * 1024}, **switches)  # type: ignore[arg-type]
    async with Emulator(config) as emu, hover_client(emu) as hover:
        emu.script("/files/", "reset")
        result = await hover.download(emu.hover_url + big, tmp_path / "f.dwg")
        storage = emu.requests_to("storage")
    assert result.sha256 == emu.expected_file(emu.hover_url + big).sha256
    assert storage[0].fault == "reset"
    assert (storage[1].range is not None) == resumed and storage[1].status == 200


async def test_a_download_onto_a_directory_is_refused_before_sending(tmp_path: Path) -> None:
    url = "/api/v3/models/15081683/artifacts/cad_export.dwg"
    async with Emulator(EmulatorConfig(jobs=0)) as emu, hover_client(emu) as hover:
        (tmp_path / "f.dwg").mkdir()
        with pytest.raises(ConfigurationError, match=r"/f\.dwg is a directory: give the file"):
            await hover.download(emu.hover_url + url, tmp_path / "f.dwg")
        with pytest.raises(ConfigurationError, match="takes a Model of a job, not NoneType"):
            await hover.get_measurements(None)  # type: ignore[arg-type]
        assert emu.requests == []
    assert [p.name for p in tmp_path.iterdir()] == ["f.dwg"] and (tmp_path / "f.dwg").is_dir()
