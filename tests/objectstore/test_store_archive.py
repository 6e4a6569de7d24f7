"""Archives written straight into S3 (moto) and Azure Blob Storage (Azurite)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from hoverbentley.archive import ArchiveOptions, archive
from hoverbentley.archive.hover_source import HoverSource
from hoverbentley.archive.object_store import ObjectStoreDestination
from tests.archive.helpers import MiB, assert_complete, big_pdfs, disk_files, storage_requests
from tests.archive.test_archive import client, emulator

from .conftest import Store
from .helpers import manifest_lines, metadata, mirror, objects

pytestmark = pytest.mark.anyio

PART = 5 * MiB


async def archive_into(emu: object, out: object, **options: int) -> object:
    async with client(emu) as hover:  # type: ignore[arg-type]
        source = HoverSource(hover, archived=True)
        return await archive(source, out, ArchiveOptions(**options))  # type: ignore[arg-type]


async def test_store_archive_equals_a_local_archive_and_a_rerun_fetches_nothing(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # Two files larger than a part go out as multipart uploads; the rest in one PUT each.
    async with emulator(jobs=4, size_overrides=big_pdfs(2, 2 * PART + 123)) as emu:
        local = tmp_path / "local"
        first = await archive_into(emu, local)
        dest = ObjectStoreDestination(store.url(), part_size=PART)
        summary = await archive_into(emu, dest)
        assert summary.ok and summary.downloaded == first.downloaded  # type: ignore[attr-defined]

        copy = mirror(store, tmp_path / "copy")
        assert disk_files(copy) == disk_files(local)
        assert (copy / "index.csv").read_bytes() == (local / "index.csv").read_bytes()
        assert manifest_lines(copy) == manifest_lines(local)
        assert_complete(copy, emu, emu.job_ids())
        assert not [k for k in objects(store) if k.startswith("manifests/")]

        # Every object up to a part carries its sha256 as metadata.
        entries = manifest_lines(copy)
        small = [p for p, e in entries.items() if e["size"] <= PART]
        for path in small[:5]:
            assert metadata(store, path)["sha256"] == entries[path]["sha256"]

        seen = len(storage_requests(emu))
        again = await archive_into(emu, ObjectStoreDestination(store.url(), part_size=PART))
        assert again.ok and again.downloaded == 0  # type: ignore[attr-defined]
        assert again.skipped == first.files  # type: ignore[attr-defined]
        assert storage_requests(emu)[seen:] == []

    text = caplog.text + (copy / "manifest.jsonl").read_text()
    assert store.secret not in text
