"""A catch-up sweep and an event for the same job at the same moment: the job's files are
downloaded once and the manifest names each of them once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import aiohttp
import anyio
import pytest

from hoverbentley.archive import ArchiveOptions, ArchiveSummary, archive
from hoverbentley.archive.hover_source import HoverSource
from hoverbentley.emulator import Emulator
from hoverbentley.serve.app import SERVICE, create_app
from tests.archive.helpers import (
    FAST_HTTP,
    assert_complete,
    hold_big_files,
    read_manifest,
)
from tests.serve.helpers import HELD, hover_body, hover_headers, post, releasable_stalls, settings
from tests.support import hover_client, serve

pytestmark = pytest.mark.anyio

EMULATOR = HELD


async def test_an_event_during_a_sweep_of_its_job_archives_it_once(
    emu: Emulator, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    first = emu.job_ids()[0]
    hold_big_files(emu, 1)  # the sweep is held mid-way through the first job's big PDF
    release = releasable_stalls(emu)
    options = ArchiveOptions(concurrency=4, retries=1)
    async with hover_client(emu, http=FAST_HTTP) as hover:

        async def sweep() -> list[ArchiveSummary]:
            return [await archive(HoverSource(hover), str(out), options)]

        app = create_app(
            settings(out, tmp_path / "state"),
            {"hover": lambda ids: HoverSource(hover, job_ids=[int(i) for i in ids])},
            sweep=sweep,
        )
        service = app[SERVICE]
        async with serve(app) as url, aiohttp.ClientSession() as session:
            while not emu.counters.stalls["storage"]:  # the emulator holds the body now
                await anyio.sleep(0.01)
            body = hover_body(first)
            status, _ = await post(session, f"{url}/hooks/hover", body, hover_headers(body))
            assert status == 202
            release.set()
            await service.settled()

    assert_complete(out, emu, emu.job_ids())
    assert [p for p, n in Counter(e["path"] for e in read_manifest(out)).items() if n > 1] == []
    fetched = Counter(r.path for r in emu.requests_to("storage"))
    held = [p for p, n in fetched.items() if n > 1]
    assert len(held) <= 1  # only the held body was asked for again (its rest, resumed)
