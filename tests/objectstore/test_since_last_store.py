"""``--since last`` into an object store: the mark is kept in the store, as in a directory."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import anyio
import pytest

from hoverbentley.archive.marks import MARK_PATH, RunMarks
from hoverbentley.emulator import Emulator, EmulatorConfig
from hoverbentley.stores import open_store
from tests.cli.helpers import FAST, hb, hover_env
from tests.cli.test_since_last import listed_since

from .conftest import Store
from .helpers import objects


def test_since_last_into_a_store_lists_from_the_mark_kept_there(store: Store) -> None:
    with Emulator.threaded(EmulatorConfig(jobs=2)) as emu:
        env = hover_env(emu, **store.env)
        command = ["hover", "archive", store.url(), "--all", *FAST, "--since", "last", "--json"]
        first = hb(*command, env=env)
        assert first.returncode == 0, first.stderr
        assert "no complete run of this selection" in first.stderr
        assert json.loads(first.stdout)["jobs"] == len(emu.job_ids(archived=False)) > 0
        [mark] = json.loads(objects(store)[MARK_PATH])["runs"].values()
        started = datetime.fromisoformat(str(mark["started"]).replace("Z", "+00:00"))

        before = len(listed_since(emu))
        second = hb(*command, env=env)
        assert second.returncode == 0, second.stderr
        since = listed_since(emu)[before:]
        assert since and all(s is not None for s in since)
        assert abs(float(str(since[0])) - (started - timedelta(minutes=10)).timestamp()) < 1
        assert json.loads(second.stdout)["jobs"] == 0
        # The mark is bookkeeping, not an extra object.
        verify = hb("verify", store.url(), env=env)
        assert verify.returncode == 0, verify.stdout + verify.stderr


@pytest.mark.anyio
async def test_marks_written_at_once_keep_every_selection(store: Store) -> None:
    marks = RunMarks(open_store(store.url("marks")))

    async def mark(n: int) -> None:
        await RunMarks(open_store(store.url("marks"))).write(f"selection-{n}", {"started": n})

    async with anyio.create_task_group() as group:
        for n in range(6):
            group.start_soon(mark, n)
    assert await marks.read() == {f"selection-{n}": {"started": n} for n in range(6)}
