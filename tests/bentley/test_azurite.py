"""Job outputs archived from reality data storage: the emulator for the API, Azurite for blobs.

A small proxy between the client and Azurite records every request and injects faults.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import random
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import aiohttp
import anyio
import pytest
from aiohttp import web

from hoverbentley.archive import ArchiveOptions, archive
from hoverbentley.archive.bentley_source import BentleySource
from hoverbentley.bentley import F, RealityModelingClient, storage
from hoverbentley.bentley.azure import sas_expiry
from hoverbentley.bentley.reality import RealityManagementClient
from hoverbentley.bentley.storage import download_blob, list_blobs
from hoverbentley.emulator import Emulator, EmulatorConfig
from hoverbentley.emulator.config import AZURITE_KEY
from hoverbentley.emulator.sas import account_sas
from tests.services import azurite_blob
from tests.support import HB, bentley_env, fast, serve

pytestmark = pytest.mark.anyio
ACCOUNT = "devstoreaccount1"
FAST = fast(max_retries=6, backoff_max=0.05)


@pytest.fixture(scope="module")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with azurite_blob(tmp_path_factory.mktemp("azurite")) as url:
        yield f"{url}/{ACCOUNT}"


@dataclass
class Proxy:
    """Forwards to Azurite; records requests; damages answers on demand."""

    target: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    fault_rate: float = 0.0
    corrupt: set[str] = field(default_factory=set)
    #: The next this many blob GETs are refused with 403 (as a store refusing a SAS does).
    forbid: int = 0
    delay: float = 0.0
    rng: random.Random = field(default_factory=lambda: random.Random(4))

    def app(self) -> web.Application:
        async def forward(request: web.Request) -> web.StreamResponse:
            record: dict[str, Any] = {
                "method": request.method,
                "path": request.path,
                "query": dict(request.query),
                "headers": dict(request.headers),
            }
            self.requests.append(record)
            if self.delay:
                await asyncio.sleep(self.delay)
            if self.forbid and request.method == "GET" and "comp" not in request.query:
                self.forbid -= 1
                record["status"] = 403
                return web.Response(status=403, text="AuthenticationFailed")
            fault = None
            if (
                self.fault_rate
                and "comp" not in request.query
                and self.rng.random() < self.fault_rate
            ):
                fault = self.rng.choice(["503", "reset"])
            if fault == "503":
                record["status"] = 503
                return web.Response(status=503, text="ServerBusy")
            headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host",)}
            async with (
                aiohttp.ClientSession(auto_decompress=False) as session,
                session.request(
                    request.method,
                    self.target + request.raw_path,
                    headers=headers,
                    data=await request.read(),
                ) as upstream,
            ):
                body = await upstream.read()
                out_headers = {
                    k: v
                    for k, v in upstream.headers.items()
                    if k.lower() not in ("transfer-encoding", "content-encoding", "connection")
                }
            if request.path.rsplit("/", 1)[-1] in self.corrupt and upstream.status in (200, 206):
                body = bytes([body[0] ^ 0xFF]) + body[1:]
            record["status"] = upstream.status
            response = web.StreamResponse(status=upstream.status, headers=out_headers)
            response.content_length = len(body)
            await response.prepare(request)
            if fault == "reset" and len(body) > 16:
                await response.write(body[: len(body) // 2])
                assert request.transport is not None
                request.transport.abort()
                return response
            await response.write(body)
            await response.write_eof()
            return response

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", forward)
        return app


async def upload(account_url: str, container: str, blobs: dict[str, bytes], md5: bool) -> None:
    sas = account_sas(ACCOUNT, AZURITE_KEY, "rwdlac", 3600)
    async with aiohttp.ClientSession() as session:
        async with session.put(f"{account_url}/{container}?restype=container&{sas}") as resp:
            assert resp.status in (201, 409), await resp.text()
        for name, data in blobs.items():
            headers = {"x-ms-blob-type": "BlockBlob"}
            if md5:
                headers["Content-MD5"] = base64.b64encode(
                    hashlib.md5(data, usedforsecurity=False).digest()
                ).decode()
            async with session.put(
                f"{account_url}/{container}/{quote(name)}?{sas}", data=data, headers=headers
            ) as resp:
                assert resp.status == 201, await resp.text()


#: Blob names a URL must encode: a space, "#" (a fragment), "?" (a query), "%" (an escape).
ODD_NAMES = ("Production/Tile 000 #2/model.obj", "Production/What?/50%.las")


def _blobs(rng: random.Random, count: int) -> dict[str, bytes]:
    out = {"Production/doc.json": b'{"root": "tileset.json"}'}
    out.update({name: name.encode() * 3 for name in ODD_NAMES})
    for i in range(count - 1):
        out[f"Production/Data/Tile_{i // 40:03d}/L{i % 7}/t{i}.b3dm"] = rng.randbytes(
            rng.randint(1, 20_000)
        )
    return out


@dataclass
class World:
    emu: Emulator
    proxy: Proxy
    itwin: str
    content: dict[str, dict[str, bytes]]  # output id -> blob name -> bytes


@pytest.fixture
async def world(azurite: str) -> AsyncIterator[World]:
    async with Emulator(EmulatorConfig(jobs=0)) as emu:
        itwin = emu.itwin_ids[1]
        jobs = [j for j in emu.bentley_jobs() if j["iTwinId"] == itwin and j["state"] == "success"]
        rng = random.Random(9)
        content: dict[str, dict[str, bytes]] = {}
        for n, job in enumerate(jobs[:3]):
            for output in job["jobSettings"]["outputs"]:
                blobs = _blobs(rng, 300 if not content else 6)
                content[output["id"]] = blobs
                await upload(azurite, output["id"], blobs, md5=n % 2 == 0)
        proxy = Proxy(azurite.rsplit("/", 1)[0])
        async with serve(proxy.app()) as proxy_url:
            emu.bentley.blob_account_url = f"{proxy_url}/{ACCOUNT}"
            yield World(emu, proxy, itwin, content)


def clients(emu: Emulator) -> tuple[RealityModelingClient, RealityManagementClient]:
    rm = RealityModelingClient(
        token=emu.config.bentley.token, base_url=emu.reality_modeling_url, http=FAST
    )
    mgmt = RealityManagementClient(base_url=emu.reality_management_url, auth=rm.auth, http=FAST)
    return rm, mgmt


async def run_archive(world: World, out: Path, **options: Any) -> Any:
    rm, mgmt = clients(world.emu)
    ids = list(world.content)
    selected = F.itwin_id.eq(world.itwin) & F.output_id.in_(ids)
    async with rm, mgmt:
        source = BentleySource(rm, selected, reality=mgmt, **options)
        return await archive(source, out, ArchiveOptions(concurrency=8))


def check_files(world: World, out: Path) -> int:
    entries = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]
    outputs = {e["path"]: e for e in entries if e["kind"] == "output" and e["status"] == "ok"}
    found = 0
    for output_id, blobs in world.content.items():
        for name, data in blobs.items():
            matches = [
                p for p, e in outputs.items() if e["model_id"] == output_id and e["key"] == name
            ]
            assert len(matches) == 1, (output_id, name)
            assert (out / matches[0]).read_bytes() == data
            assert outputs[matches[0]]["sha256"] == hashlib.sha256(data).hexdigest()
            url = urlsplit(outputs[matches[0]]["url"])
            assert "sig=" not in outputs[matches[0]]["url"]
            # The manifest URL is the blob's, encoded: nothing of the name is a query or fragment.
            assert (url.query, url.fragment) == ("", "")
            assert unquote(url.path).endswith(f"/{output_id}/{name}")
            found += 1
    return found


async def test_every_output_blob_arrives_byte_exact_without_a_bearer(
    world: World, tmp_path: Path
) -> None:
    summary = await run_archive(world, tmp_path / "out")
    total = sum(len(b) for b in world.content.values())
    assert summary.failed == 0 and summary.jobs_failed == 0, summary.failures[:3]
    assert check_files(world, tmp_path / "out") == total
    gets = [r for r in world.proxy.requests if r["method"] == "GET"]
    assert gets and all("Authorization" not in r["headers"] for r in gets)
    assert all("sig" in r["query"] for r in gets)
    listings = [r for r in gets if r["query"].get("comp") == "list"]
    assert len(listings) == len(world.content)  # 300 blobs fit one page of 5,000

    world.proxy.requests.clear()
    again = await run_archive(world, tmp_path / "out")
    assert again.downloaded == 0 and again.skipped == total
    assert not [r for r in world.proxy.requests if "comp" not in r["query"]]


async def test_marker_paging_lists_every_blob(world: World) -> None:
    output_id = next(iter(world.content))
    _, mgmt = clients(world.emu)
    async with mgmt:
        container = mgmt.container(output_id, world.itwin)
        names = [b.name async for b in list_blobs(mgmt.transport, container, page_size=64)]
        nested = [
            b.name async for b in list_blobs(mgmt.transport, container, "Production/Data/Tile_001/")
        ]
    assert sorted(names) == sorted(world.content[output_id])
    assert len([r for r in world.proxy.requests if r["query"].get("comp") == "list"]) >= 5
    assert nested and all(n.startswith("Production/Data/Tile_001/") for n in nested)


def _grants(world: World) -> int:
    """How many SAS URLs Reality Management handed out (``readaccess`` requests)."""
    return len([r for r in world.emu.requests if r.path.endswith("/readaccess")])


def _blob_gets(world: World, name: str) -> list[dict[str, Any]]:
    return [r for r in world.proxy.requests if r["method"] == "GET" and r["path"].endswith(name)]


async def test_expiring_sas_is_renewed_before_expiry(world: World, tmp_path: Path) -> None:
    world.emu.bentley.sas_ttl = 2
    output_id, blobs = next(iter(world.content.items()))
    name = sorted(blobs)[1]
    _, mgmt = clients(world.emu)
    async with mgmt:
        container = mgmt.container(output_id, world.itwin)
        first = await container.url()
        assert _grants(world) == 1
        expiry = sas_expiry(first)
        assert expiry is not None
        await anyio.sleep(max(0.0, expiry - time.time()) + 0.1)  # the SAS has now expired
        result = await download_blob(mgmt.transport, container, name, tmp_path / "a")
    assert result.sha256 == hashlib.sha256(blobs[name]).hexdigest()
    # Renewed before use: a second grant, and the store never saw the expired SAS.
    assert _grants(world) == 2
    gets = _blob_gets(world, name)
    assert [g["status"] for g in gets] == [200]
    assert gets[0]["query"]["sig"] != dict(parse_qsl(urlsplit(first).query))["sig"]


async def test_sas_refused_by_the_store_is_renewed_once(world: World, tmp_path: Path) -> None:
    output_id, blobs = next(iter(world.content.items()))
    name = sorted(blobs)[1]
    _, mgmt = clients(world.emu)
    async with mgmt:
        container = mgmt.container(output_id, world.itwin)
        await container.url()
        world.proxy.forbid = 1  # the store refuses a SAS that should still be valid
        result = await download_blob(mgmt.transport, container, name, tmp_path / "b")
    assert result.sha256 == hashlib.sha256(blobs[name]).hexdigest()
    assert _grants(world) == 2
    assert [g["status"] for g in _blob_gets(world, name)] == [403, 200]


async def test_archive_renews_the_sas_mid_run(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The store accepts each SAS for 20 s, but the client is told it expires after 2 s, so a
    # run of a few seconds spans several lifetimes as the client sees them, and each renewal
    # comes ~18 s before the store would refuse that SAS: a busy machine cannot delay a request
    # long enough to be refused (with a real 2 s SAS the margin was 0.1-0.2 s, one slow request).
    world.emu.bentley.sas_ttl = 20
    world.proxy.delay = 0.1  # the run lasts several of the client's SAS lifetimes

    def tenth_of_the_lifetime(url: str) -> float | None:
        expiry = sas_expiry(url)
        return None if expiry is None else time.time() + (expiry - time.time()) / 10

    monkeypatch.setattr(storage, "sas_expiry", tenth_of_the_lifetime)
    summary = await run_archive(world, tmp_path / "out")
    assert summary.failed == 0, summary.failures[:3]
    check_files(world, tmp_path / "out")
    assert _grants(world) > len(world.content)
    # The big container's blobs were fetched with more than one SAS, none of them refused.
    gets = [r for r in world.proxy.requests if r["method"] == "GET" and "comp" not in r["query"]]
    assert {g["status"] for g in gets} == {200}
    big = next(iter(world.content))
    assert len({g["query"]["sig"] for g in gets if f"/{big}/" in g["path"]}) >= 2


async def test_changed_blob_is_downloaded_again_and_only_it(
    world: World, tmp_path: Path, azurite: str
) -> None:
    out = tmp_path / "out"
    await run_archive(world, out)
    output_id, blobs = next(iter(world.content.items()))
    name = sorted(blobs)[5]
    blobs[name] = b"new content " * 100
    await upload(azurite, output_id, {name: blobs[name]}, md5=True)
    world.proxy.requests.clear()
    summary = await run_archive(world, out)
    assert summary.downloaded == 1
    check_files(world, out)
    fetched = [r["path"] for r in world.proxy.requests if "comp" not in r["query"]]
    assert len(fetched) == 1 and fetched[0].endswith(name.rsplit("/", 1)[-1])


async def test_faults_and_a_corrupt_blob(world: World, tmp_path: Path) -> None:
    world.proxy.fault_rate = 0.15
    blobs = next(iter(world.content.values()))
    bad = sorted(blobs)[3]
    world.proxy.corrupt.add(bad.rsplit("/", 1)[-1])
    summary = await run_archive(world, tmp_path / "out")
    # The first job's blobs were uploaded with Content-MD5 (see ``world``): the damage is seen.
    assert summary.failed == 1
    assert "Content-MD5" in summary.failures[0].error
    assert not any(p.name == bad.rsplit("/", 1)[-1] for p in (tmp_path / "out").rglob("*.b3dm"))
    assert summary.downloaded == sum(len(b) for b in world.content.values()) - summary.failed


def test_cli_archives_selected_output_formats(azurite: str, tmp_path: Path) -> None:
    with Emulator.threaded(EmulatorConfig(jobs=0)) as emu:
        emu.bentley.blob_account_url = azurite
        itwin = emu.itwin_ids[2]
        job = next(
            j for j in emu.bentley_jobs() if j["iTwinId"] == itwin and j["state"] == "success"
        )
        rng = random.Random(1)
        content = {o["id"]: (o["format"], _blobs(rng, 12)) for o in job["jobSettings"]["outputs"]}
        for output_id, (_, blobs) in content.items():
            asyncio.run(upload(azurite, output_id, blobs, md5=True))
        wanted_id, (wanted, wanted_blobs) = next(iter(content.items()))
        out = tmp_path / "out"
        env = bentley_env(emu)
        command = [
            *HB,
            "bentley",
            "archive",
            str(out),
            "--filter",
            f"iTwinId eq {itwin} and id eq {job['id']}",
            "--outputs",
            wanted.upper(),
            "--json",
        ]
        dry = subprocess.run(
            [*command, "--dry-run"], capture_output=True, text=True, env=env, timeout=60
        )
        assert dry.returncode == 0, dry.stderr
        summary = json.loads(dry.stdout.splitlines()[-1])
        assert summary["files"] == len(wanted_blobs) and not out.exists()
        result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["downloaded"] == len(wanted_blobs)
    lines = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]
    paths = {e["key"]: e["path"] for e in lines if e["kind"] == "output"}
    base = f"bentley/{job['id']}/outputs/{wanted_id}/"
    for name, data in wanted_blobs.items():
        assert paths[name].startswith(base)
        assert (out / paths[name]).read_bytes() == data
    others = [i for i in content if i != wanted_id]
    assert not any((out / "bentley" / job["id"] / "outputs" / i).exists() for i in others)
    assert (
        json.loads((out / "bentley" / job["id"] / "job.json").read_bytes())["job"]["id"]
        == job["id"]
    )
