"""Bentley output blobs (Azurite behind the Bentley emulator) archived into S3 and Azure."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.archive.helpers import disk_files
from tests.bentley import test_azurite
from tests.bentley.test_azurite import World, check_files, run_archive, upload

from .conftest import Store
from .helpers import manifest_lines, mirror

pytestmark = pytest.mark.anyio

azurite = test_azurite.azurite
world = test_azurite.world


async def test_bentley_archive_into_a_store_equals_a_local_one_and_reruns_without_fetching(
    world: World, azurite: str, store: Store, tmp_path: Path
) -> None:
    local = tmp_path / "local"
    first = await run_archive(world, local)
    summary = await run_archive(world, store.url())
    assert summary.failed == 0 and summary.downloaded == first.downloaded > 300
    copy = mirror(store, tmp_path / "copy")
    assert disk_files(copy) == disk_files(local)
    assert manifest_lines(copy) == manifest_lines(local)
    assert check_files(world, copy) == sum(len(b) for b in world.content.values())

    world.proxy.requests.clear()
    again = await run_archive(world, store.url())
    assert again.downloaded == 0 and again.skipped == first.files
    assert not [r for r in world.proxy.requests if "comp" not in r["query"]]

    # A blob changed at the source (same size, new bytes) is fetched again, and only that one.
    output_id, blobs = next(iter(world.content.items()))
    name = sorted(blobs)[3]
    blobs[name] = bytes(b ^ 0xFF for b in blobs[name])
    await upload(azurite, output_id, {name: blobs[name]}, md5=False)
    changed = await run_archive(world, store.url())
    assert changed.downloaded == 1 and changed.skipped == first.files - 1
    check_files(world, mirror(store, tmp_path / "changed"))
