"""Plain aiohttp requests to the emulator, without any of hoverbentley's client code."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlencode

import aiohttp

from hoverbentley.emulator import Emulator, EmulatorConfig, ExpectedFile

#: Small files, few jobs: quick to build and to serve.
SMALL = {"image": (2048, 4096), "measurements": (2048, 4096), "cad_exports": (2048, 4096)}


@asynccontextmanager
async def running(**fields: Any) -> AsyncIterator[tuple[Emulator, aiohttp.ClientSession]]:
    """An emulator with few small jobs (``fields`` override) and a plain client session."""
    config = EmulatorConfig(**{"jobs": 2, "sizes": SMALL, **fields})
    async with Emulator(config) as emu, aiohttp.ClientSession() as session:
        yield emu, session


def api_url(emu: Emulator, url: str) -> str:
    """``url`` (an emulator URL) with the current user added."""
    user = sorted(emu.config.user_emails)[0]
    joiner = "&" if "?" in url else "?"
    return url + joiner + urlencode({"current_user_email": user})


def bearer(emu: Emulator) -> dict[str, str]:
    """The Authorization header of the emulator's static Hover token."""
    return {"Authorization": f"Bearer {emu.config.token}"}


async def signed_url(session: aiohttp.ClientSession, emu: Emulator, item: ExpectedFile) -> str:
    """The signed storage URL the API redirects ``item`` to."""
    async with session.get(
        api_url(emu, item.url), headers=bearer(emu), allow_redirects=False
    ) as resp:
        assert resp.status == 302, await resp.text()
        return resp.headers["Location"]


async def jobs_status(session: aiohttp.ClientSession, emu: Emulator) -> int:
    """The status of one Hover job-list request."""
    async with session.get(api_url(emu, f"{emu.hover_url}/api/v3/jobs"), headers=bearer(emu)) as r:
        await r.read()
        return r.status


async def storage_status(session: aiohttp.ClientSession, url: str, **kwargs: Any) -> int:
    """The status of one storage GET whose body arrives whole."""
    async with session.get(url, **kwargs) as resp:
        await resp.read()
        return resp.status


async def read_until_error(resp: aiohttp.ClientResponse) -> tuple[bytes, BaseException | None]:
    """The bytes of a body that arrived, and the error that ended it early (if any)."""
    received = bytearray()
    try:
        async for chunk in resp.content.iter_any():
            received += chunk
    except (aiohttp.ClientError, TimeoutError) as exc:
        return bytes(received), exc
    return bytes(received), None
