"""A file is known by its place under OUT, not by the host in its URL; one line per file."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from hoverbentley.archive.bentley_source import BentleySource
from hoverbentley.archive.manifest import Manifest, ManifestEntry
from hoverbentley.bentley import F
from hoverbentley.cli.progress import summary_text
from hoverbentley.download import PartFile
from tests.bentley import test_azurite
from tests.bentley.test_azurite import World, clients

from .helpers import (
    assert_complete,
    expected_by_key,
    file_requests,
    main_model_pdf,
    read_manifest,
    storage_fragment,
    storage_requests,
)
from .test_archive import emulator, run

pytestmark = pytest.mark.anyio

# Azurite behind the Bentley emulator, with some output blobs uploaded (the Bentley tests' own).
azurite = test_azurite.azurite
world = test_azurite.world


def _line_count(out: Path) -> int:
    return len((out / "manifest.jsonl").read_bytes().splitlines())


async def test_rerun_against_a_new_port_finds_every_file_complete(tmp_path: Path) -> None:
    out = tmp_path / "out"
    async with emulator(jobs=4) as first:
        await run(first, out)
        old_host = first.hover_url
        files = len(first.expected_files()) + len(first.job_ids())
    assert _line_count(out) == files

    async with emulator(jobs=4) as second:  # the same catalog, served on other ports
        assert second.hover_url != old_host
        summary = await run(second, out)
        expected = second.expected_files()
        assert summary.ok and summary.downloaded == 0 and summary.skipped == len(expected)
        assert f"0 downloaded (0 B), {len(expected)} already complete, 0 failed" in (
            summary_text(summary)
        )
        assert not storage_requests(second)
        assert not file_requests(second)
        # One current line per file, naming the URL each file is listed under now.
        assert _line_count(out) == files
        assert_complete(out, second, second.job_ids())
        assert all(e["url"].startswith(second.hover_url) for e in read_manifest(out))


async def test_a_run_ends_with_one_line_per_file_after_failures_and_torn_lines(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    async with emulator(jobs=2) as emu:
        bad = expected_by_key(emu, main_model_pdf(0))
        emu.script(storage_fragment(emu, bad.url), *["500"] * 30)
        first = await run(emu, out, retries=0)
        assert first.failed == 1
        (failed,) = [e for e in read_manifest(out) if e["status"] == "failed"]
        assert failed["url"] == bad.url
        with open(out / "manifest.jsonl", "ab") as fh:
            fh.write(b'{"path": "hover/1/torn", "sta')  # a crash mid-line

        emu.faults.clear()
        again = await run(emu, out)
        assert again.ok and again.downloaded == 1
        lines = read_manifest(out)
        assert (
            len(lines)
            == len({e["path"] for e in lines})
            == len(emu.expected_files()) + len(emu.job_ids())
        )
        assert_complete(out, emu, emu.job_ids())


async def test_a_damaged_line_is_warned_of_and_its_file_fetched_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "out"
    async with emulator(jobs=1) as emu:
        assert (await run(emu, out)).ok
        lines = (out / "manifest.jsonl").read_bytes().splitlines(keepends=True)
        number, line = next((n, b) for n, b in enumerate(lines, 1) if b'"kind":"artifact"' in b)
        damaged = json.loads(line)["path"]
        lines[number - 1] = line.replace(b'"status":"ok"', b'"status":7')
        (out / "manifest.jsonl").write_bytes(b"".join(lines))

        with caplog.at_level("WARNING", logger="hoverbentley"):
            again = await run(emu, out)
        assert again.ok and again.downloaded == 1
        assert f"manifest.jsonl line {number} is not a manifest entry" in caplog.text
        final = read_manifest(out)
        assert len(final) == len({e["path"] for e in final}) and damaged in {
            e["path"] for e in final
        }
        assert_complete(out, emu, emu.job_ids())


def _entry(path: str, sha: str) -> ManifestEntry:
    return ManifestEntry(
        path=path, url=f"http://h/{path}", sha256=sha, job_id="1", kind="x", status="ok"
    )


def test_compaction_keeps_the_newest_line_of_each_path_and_lines_of_another_writer(
    tmp_path: Path,
) -> None:
    manifest = Manifest(tmp_path)
    manifest.open()
    for path, sha in [("a", "1"), ("b", "1"), ("a", "2")]:
        manifest.append(_entry(path, sha))
    manifest.close()
    # Another process appends after this one loaded the manifest.
    with open(tmp_path / "manifest.jsonl", "ab") as fh:
        fh.write(
            json.dumps(
                {"path": "c", "url": "u", "job_id": "1", "kind": "x", "status": "ok"}
            ).encode()
            + b"\n"
        )
    assert manifest.compact()
    lines = [json.loads(x) for x in (tmp_path / "manifest.jsonl").read_text().splitlines()]
    assert [(e["path"], e.get("sha256")) for e in lines] == [("a", "2"), ("b", "1"), ("c", None)]
    assert not manifest.compact()  # already one line per path: left alone
    assert not list(tmp_path.glob("*.tmp"))


async def test_a_bentley_file_is_fetched_by_a_source_that_did_not_plan_it(
    world: World, tmp_path: Path
) -> None:
    output_id, blobs = next(iter(world.content.items()))
    selection = F.itwin_id.eq(world.itwin) & F.output_id.in_([output_id])
    rm, mgmt = clients(world.emu)
    async with rm, mgmt:
        planner = BentleySource(rm, selection, reality=mgmt)
        (job_id,) = [j async for j in planner.job_ids()]
        files = [f for f in (await planner.plan(job_id)).files if f.part_id == output_id]
    assert sorted(f.key for f in files) == sorted(blobs)

    # Another process (new clients, a new source): the file alone says where it comes from.
    mark = len(world.emu.requests)
    rm, mgmt = clients(world.emu)
    async with rm, mgmt:
        fetcher = BentleySource(rm, selection, reality=mgmt)
        for file in files[:3]:
            async with PartFile(tmp_path / file.path, file.url, md5=file.md5 is not None) as part:
                result = await fetcher.fetch(file, part)
            assert result.sha256 == hashlib.sha256(blobs[file.key]).hexdigest()
            assert (tmp_path / file.path).read_bytes() == blobs[file.key]
    grants = [r for r in world.emu.requests[mark:] if r.path.endswith("/readaccess")]
    assert len(grants) == 1  # one container grant for the output, shared by its downloads
