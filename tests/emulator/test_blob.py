"""The built-in blob container (an Azure Blob REST subset), through plain aiohttp requests."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import aiohttp
import pytest

from hoverbentley.emulator import Emulator, EmulatorConfig, ExpectedBlob, FaultConfig
from hoverbentley.emulator.config import BentleyConfig

pytestmark = pytest.mark.anyio
MiB = 1024 * 1024


@asynccontextmanager
async def blob_world(**bentley: Any) -> AsyncIterator[tuple[Emulator, aiohttp.ClientSession]]:
    config = EmulatorConfig(jobs=0, bentley=BentleyConfig(itwins=1, jobs_per_itwin=6, **bentley))
    async with Emulator(config) as emu, aiohttp.ClientSession() as session:
        yield emu, session


async def read_access(session: aiohttp.ClientSession, emu: Emulator, output_id: str) -> str:
    headers = {"Authorization": f"Bearer {emu.config.bentley.token}"}
    url = f"{emu.reality_management_url}/{output_id}/readaccess"
    async with session.get(url, headers=headers) as resp:
        assert resp.status == 200, await resp.text()
        body = await resp.json()
    href: str = body["_links"]["containerUrl"]["href"]
    return href


def with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = parts.query + "&" + urlencode(params) if params else parts.query
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def blob_of(container_url: str, name: str) -> str:
    parts = urlsplit(container_url)
    return urlunsplit((parts.scheme, parts.netloc, f"{parts.path}/{name}", parts.query, ""))


async def list_page(
    session: aiohttp.ClientSession, container_url: str, **params: str
) -> ET.Element:
    url = with_query(container_url, restype="container", comp="list", **params)
    async with session.get(url) as resp:
        assert resp.status == 200, await resp.text()
        assert resp.content_type == "application/xml"
        return ET.fromstring(await resp.read())  # noqa: S314 - our own emulator's answer


def first_output(emu: Emulator) -> tuple[str, list[ExpectedBlob]]:
    output_id = emu.output_ids()[0]
    return output_id, emu.expected_blobs(output_id)


async def test_outputs_hold_nested_blobs_one_larger_than_a_mebibyte() -> None:
    async with blob_world() as (emu, session):
        output_id, blobs = first_output(emu)
        names = [b.name for b in blobs]
        assert "tiles/0/0.b3dm" in names and any(b.size > MiB for b in blobs)
        url = await read_access(session, emu, output_id)
        assert url.startswith(f"{emu.blob_url}/{output_id}?")
        assert emu.requests_to("bentley", "/readaccess")[-1].status == 200


async def test_list_blobs_pages_across_markers_with_azure_fields() -> None:
    async with blob_world() as (emu, session):
        output_id, blobs = first_output(emu)
        url = await read_access(session, emu, output_id)
        seen: list[ET.Element] = []
        markers: list[str] = []
        params = {"maxresults": "2"}
        for _ in range(10):  # a listing that never ends fails below
            root = await list_page(session, url, **params)
            assert root.tag == "EnumerationResults" and root.findtext("MaxResults") == "2"
            page = root.findall("Blobs/Blob")
            assert len(page) <= 2
            seen += page
            marker = root.findtext("NextMarker")
            if not marker:
                break
            markers.append(marker)
            params = {"maxresults": "2", "marker": marker}
        assert len(markers) == 2  # 5 blobs: pages of 2, 2, 1
        expected = {b.name: b for b in blobs}
        assert [b.findtext("Name") for b in seen] == sorted(expected)
        for element in seen:
            want = expected[element.findtext("Name") or ""]
            assert element.findtext("Properties/Content-Length") == str(want.size)
            assert element.findtext("Properties/Content-MD5") == want.md5
            assert f'"{element.findtext("Properties/Etag")}"' == want.etag
        root = await list_page(session, url, prefix="tiles/")
        names = [b.findtext("Name") for b in root.findall("Blobs/Blob")]
        assert names == sorted(n for n in expected if n.startswith("tiles/"))
        assert root.findtext("Prefix") == "tiles/" and not root.findtext("NextMarker")


async def test_an_expired_sas_is_refused_like_azure() -> None:
    async with blob_world() as (emu, session):
        output_id, _ = first_output(emu)
        emu.bentley.sas_ttl = -60
        url = await read_access(session, emu, output_id)
        for target in (with_query(url, restype="container", comp="list"), blob_of(url, "x")):
            async with session.get(target) as resp:
                assert resp.status == 403
                assert resp.headers["x-ms-error-code"] == "AuthenticationFailed"
                root = ET.fromstring(await resp.read())  # noqa: S314 - our emulator's answer
        assert root.findtext("Code") == "AuthenticationFailed"
        assert "Signature not valid in the specified time frame" in (
            root.findtext("AuthenticationErrorDetail") or ""
        )


async def test_a_wrong_signature_is_refused() -> None:
    async with blob_world() as (emu, session):
        output_id, blobs = first_output(emu)
        url = await read_access(session, emu, output_id)
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        query["sig"] = "A" + query["sig"][1:] if query["sig"][0] != "A" else "B" + query["sig"][1:]
        forged = urlunsplit((*parts[:3], urlencode(query), ""))
        async with session.get(blob_of(forged, blobs[0].name)) as resp:
            assert resp.status == 403
            root = ET.fromstring(await resp.read())  # noqa: S314 - our emulator's answer
        assert root.findtext("Code") == "AuthenticationFailed"
        assert root.findtext("AuthenticationErrorDetail") == "Signature did not match."
        other = emu.output_ids()[1]  # a SAS of one container does not open another
        moved = url.replace(f"/{output_id}?", f"/{other}?")
        async with session.get(with_query(moved, restype="container", comp="list")) as resp:
            assert resp.status == 403


async def test_get_blob_whole_and_ranged_with_etag_and_md5() -> None:
    async with blob_world() as (emu, session):
        output_id, blobs = first_output(emu)
        big = max(blobs, key=lambda b: b.size)
        url = blob_of(await read_access(session, emu, output_id), big.name)
        async with session.get(url) as resp:
            whole = await resp.read()
            assert resp.status == 200 and resp.headers["ETag"] == big.etag
            assert resp.headers["Content-MD5"] == big.md5
        assert hashlib.sha256(whole).hexdigest() == big.sha256 and len(whole) == big.size
        async with session.get(url, headers={"Range": "bytes=100-199"}) as resp:
            assert resp.status == 206
            assert resp.headers["Content-Range"] == f"bytes 100-199/{big.size}"
            assert await resp.read() == whole[100:200]
        async with session.get(url, headers={"Range": "bytes=5-", "If-Match": big.etag}) as resp:
            assert resp.status == 206 and await resp.read() == whole[5:]
        async with session.get(url, headers={"Range": "bytes=5-", "If-Match": '"0x8D0"'}) as resp:
            assert resp.status == 412
            assert resp.headers["x-ms-error-code"] == "ConditionNotMet"
        async with session.get(url, headers={"Range": f"bytes={big.size}-"}) as resp:
            assert resp.status == 416
        ranged = {status: n for (host, status), n in emu.counters.ranged.items() if host == "blob"}
        assert ranged == {206: 2, 412: 1, 416: 1}


async def test_a_changed_blob_has_new_bytes_and_etag_so_resumes_do_not_splice() -> None:
    async with blob_world() as (emu, session):
        output_id, blobs = first_output(emu)
        big = max(blobs, key=lambda b: b.size)
        url = blob_of(await read_access(session, emu, output_id), big.name)
        async with session.get(url, headers={"Range": "bytes=0-999"}) as resp:
            head = await resp.read()
        new = emu.change_blob(output_id, big.name)
        assert new.etag != big.etag and new.sha256 != big.sha256 and new.size == big.size
        locked = {"Range": "bytes=1000-", "If-Match": big.etag}
        async with session.get(url, headers=locked) as resp:
            assert resp.status == 412
        async with session.get(url, headers={"Range": "bytes=1000-", "If-Range": big.etag}) as r:
            assert r.status == 200 and r.headers["ETag"] == new.etag
            body = await r.read()
        assert hashlib.sha256(body).hexdigest() == new.sha256 and body[:1000] != head


async def test_readaccess_without_built_in_blobs_or_with_an_external_account() -> None:
    async with blob_world(builtin_blobs=False) as (emu, session):
        output_id, _ = first_output(emu)
        headers = {"Authorization": f"Bearer {emu.config.bentley.token}"}
        url = f"{emu.reality_management_url}/{output_id}/readaccess"
        async with session.get(url, headers=headers) as resp:
            assert resp.status == 503
            assert (await resp.json())["error"]["code"] == "StorageUnavailable"
        emu.bentley.blob_account_url = "http://127.0.0.1:9/devstoreaccount1"
        assert (await read_access(session, emu, output_id)).startswith(
            f"http://127.0.0.1:9/devstoreaccount1/{output_id}?"
        )


async def test_blob_host_faults_of_its_own() -> None:
    async with blob_world() as (emu, session):
        output_id, blobs = first_output(emu)
        url = blob_of(await read_access(session, emu, output_id), blobs[0].name)
        emu.set_faults("blob", FaultConfig(error_503=1.0))
        async with session.get(url) as resp:
            assert resp.status == 503
        emu.outage("blob", mode="503")
        emu.set_faults("blob", None)
        async with session.get(url) as resp:
            assert resp.status == 503
        emu.end_outage("blob")
        async with session.get(url) as resp:
            assert resp.status == 200
        assert emu.counters.faults["blob", "503"] == 1
        assert emu.counters.outage_rejections["blob"] == 1
