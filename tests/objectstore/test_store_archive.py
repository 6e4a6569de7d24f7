"""Archives written straight into S3 (moto) and Azure Blob Storage (Azurite)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from hoverbentley.archive import ArchiveOptions, archive
from hoverbentley.archive.destination import ArchiveWriteError
from hoverbentley.archive.hover_source import HoverSource
from hoverbentley.archive.object_store import ObjectStoreDestination
from hoverbentley.archive.plan import PlannedFile
from hoverbentley.download import DownloadResult
from hoverbentley.emulator import FaultConfig
from hoverbentley.errors import ConfigurationError
from tests.archive.helpers import MiB, assert_complete, big_pdfs, disk_files, storage_requests
from tests.archive.test_archive import client, emulator

from .conftest import S3_SECRET, Store, uploads_in_progress
from .helpers import manifest_lines, metadata, mirror, objects
from .proxy import faulty_proxy

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


async def test_500s_and_resets_between_the_archive_and_the_store_still_give_the_same_archive(
    s3: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with emulator(jobs=3, size_overrides=big_pdfs(2, 2 * PART + 123)) as emu:
        local = tmp_path / "local"
        await archive_into(emu, local)
        async with faulty_proxy(s3.endpoint, every=3) as (proxy, url):
            monkeypatch.setenv("AWS_ENDPOINT_URL", url)
            summary = await archive_into(emu, ObjectStoreDestination(s3.url(), part_size=PART))
        monkeypatch.setenv("AWS_ENDPOINT_URL", s3.endpoint)
        assert summary.ok, summary.failures  # type: ignore[attr-defined]
    # Writes of every kind failed: object PUTs, parts, multipart starts and completions.
    assert {kind for kind, _, _ in proxy.faults} == {"500", "reset"}
    assert any("uploadId" in path for _, _, path in proxy.faults)
    copy = mirror(s3, tmp_path / "copy")
    assert disk_files(copy) == disk_files(local)
    assert manifest_lines(copy) == manifest_lines(local)
    # Only a start of an upload answered by a reset (its id never reached the client) can
    # leave an upload behind: never visible at a key, removed by the bucket's lifecycle rule.
    lost_starts = [p for k, m, p in proxy.faults if k == "reset" and "?uploads" in p]
    assert uploads_in_progress(s3) <= len(lost_starts)


async def test_bodies_cut_by_the_source_resume_by_range_into_the_upload(
    store: Store, tmp_path: Path
) -> None:
    faults = FaultConfig(truncate=0.3, max_in_a_row=2, seed=11)
    async with emulator(jobs=3, size_overrides=big_pdfs(2, 2 * PART + 123)) as emu:
        emu.faults.config = faults
        summary = await archive_into(emu, ObjectStoreDestination(store.url(), part_size=PART))
        assert summary.ok, summary.failures  # type: ignore[attr-defined]
        ranged = [r for r in storage_requests(emu) if r.range]
        # Resumed where the upload stood (206), or cut again (the emulator's 599 marks a cut).
        assert 206 in {r.status for r in ranged} and {r.status for r in ranged} <= {206, 599}
        assert_complete(mirror(store, tmp_path / "copy"), emu, emu.job_ids())


async def test_a_file_that_keeps_failing_leaves_nothing_at_its_key(
    s3: Store, tmp_path: Path
) -> None:
    async with emulator(jobs=2, size_overrides=big_pdfs(2, 2 * PART + 123)) as emu:
        emu.faults.config = FaultConfig(truncate=1.0)
        summary = await archive_into(
            emu, ObjectStoreDestination(s3.url(), part_size=PART), retries=0
        )
        assert not summary.ok and summary.downloaded == 0  # type: ignore[attr-defined]
        stored = [k for k in objects(s3) if "/models/" in k]
        assert stored == []
        assert uploads_in_progress(s3) == 0
        copy = mirror(s3, tmp_path / "copy")
        failed = {e["status"] for e in manifest_lines(copy).values() if e["kind"] != "job"}
        assert failed == {"failed"}


@pytest.mark.parametrize(
    "path", ["../escape", "hover/../../escape", "hover//x", "hover/./x", "hover\\..\\x", "a/\x00"]
)
async def test_a_path_that_could_leave_the_prefix_is_refused(s3: Store, path: str) -> None:
    dest = ObjectStoreDestination(s3.url())
    await dest.open()
    file = PlannedFile(
        url="http://127.0.0.1:9/x",
        path=path,
        job_id="1",
        part_id=None,
        kind="k",
        format="f",
        key="k",
    )
    fetched: list[object] = []

    async def fetch(file: PlannedFile, target: object) -> DownloadResult:
        fetched.append(target)
        raise AssertionError("fetched")

    with pytest.raises(ArchiveWriteError, match="not a plain relative path"):
        await dest.receive(file, fetch)
    with pytest.raises(ArchiveWriteError, match="not a plain relative path"):
        await dest.write_record(path, b"{}")
    await dest.close()
    assert not fetched
    assert objects(s3, prefix="") == {}  # nothing anywhere in the bucket


def test_credentials_in_the_url_are_refused_without_being_repeated(s3: Store) -> None:
    with pytest.raises(ConfigurationError) as caught:
        ObjectStoreDestination(f"s3://AKIA:{S3_SECRET}@{s3.name}/archive")
    assert S3_SECRET not in str(caught.value)
    with pytest.raises(ConfigurationError) as caught:
        ObjectStoreDestination(f"az://{s3.name}/archive?sig={S3_SECRET}")
    assert S3_SECRET not in str(caught.value)
