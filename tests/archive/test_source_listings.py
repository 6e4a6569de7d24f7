"""The archive sources' job listings, left early (a shard, a limit, an error): the listing
they read is closed at once, the next page being prefetched cancelled, not left running."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from hoverbentley import BentleySource, HoverSource
from hoverbentley.bentley import F
from hoverbentley.emulator import Emulator, EmulatorConfig
from tests.support import hover_client, reality_modeling

pytestmark = pytest.mark.anyio
EMULATOR = EmulatorConfig(jobs=6)


async def test_a_hover_listing_left_early_cancels_its_prefetch(emu_thread: Emulator) -> None:
    emu_thread.script("page=2&", "hang")
    async with hover_client(emu_thread, page_size=2) as hover:
        baseline = len(asyncio.all_tasks())
        ids = HoverSource(hover).job_ids()
        assert await ids.__anext__()
        await ids.aclose()
        assert len(asyncio.all_tasks()) == baseline


async def test_a_bentley_listing_left_early_cancels_its_prefetch(emu_thread: Emulator) -> None:
    jobs_per_itwin = Counter(job["iTwinId"] for job in emu_thread.bentley_jobs())
    itwin, count = jobs_per_itwin.most_common(1)[0]
    assert count > 2
    emu_thread.script("continuationToken", "hang")
    async with reality_modeling(emu_thread) as rm:
        baseline = len(asyncio.all_tasks())
        ids = BentleySource(rm, F.itwin_id.eq(itwin), top=2).job_ids()
        assert await ids.__anext__()
        await ids.aclose()
        assert len(asyncio.all_tasks()) == baseline
