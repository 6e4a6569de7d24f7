"""``verify_archive`` from Python: the typed report, the progress callback, shard problems."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from hoverbentley.archive import VerifyProgress, verify_archive
from hoverbentley.archive.manifest import ManifestEntry, encode_entry
from hoverbentley.errors import ConfigurationError

pytestmark = pytest.mark.anyio


def entry(path: str, data: bytes) -> ManifestEntry:
    return ManifestEntry(
        path=path,
        url=f"https://example.invalid/{path}",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        job_id="1",
        kind="file",
        status="ok",
    )


def make_archive(root: Path, files: dict[str, bytes]) -> None:
    for path, data in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    lines = b"".join(encode_entry(entry(p, d)) for p, d in files.items())
    (root / "manifest.jsonl").write_bytes(lines)


async def test_a_report_and_one_progress_call_per_recorded_file(tmp_path: Path) -> None:
    make_archive(tmp_path, {"hover/1/a.bin": b"a" * 10, "hover/1/b.bin": b"b" * 20})
    (tmp_path / "hover/1/b.bin").write_bytes(b"c" * 20)  # same size, other bytes
    (tmp_path / "hover/1/a.bin.part").write_bytes(b"x")
    (tmp_path / ".hoverbentley").mkdir()
    (tmp_path / ".hoverbentley/last-run.json").write_text("{}")
    seen: list[VerifyProgress] = []

    report = await verify_archive(tmp_path, workers=1, progress=seen.append)

    assert not report.ok
    assert (report.files, report.verified, report.bytes) == (2, 1, 30)
    assert [c.path for c in report.changed] == ["hover/1/b.bin"]
    assert report.missing == report.extra == report.failed == report.shard_problems == []
    assert report.partial == ["hover/1/a.bin.part"]
    assert [(p.done, p.total) for p in seen] == [(1, 2), (2, 2)]
    assert seen[-1].bytes == 30


async def test_a_missing_shard_part_fails_the_report_unless_partial_is_allowed(
    tmp_path: Path,
) -> None:
    make_archive(tmp_path, {"hover/1/a.bin": b"a"})
    (tmp_path / "manifests").mkdir()
    (tmp_path / "manifests/shard-00001-of-00002.jsonl").write_bytes(b"")
    missing = "shard 0 of 2 is missing: manifests/shard-00000-of-00002.jsonl"

    report = await verify_archive(str(tmp_path))
    assert report.shard_problems == [missing] and report.verified == 1 and not report.ok
    allowed = await verify_archive(tmp_path, allow_partial=True)
    assert allowed.shard_problems == [missing] and allowed.ok


async def test_a_damaged_manifest_line_fails_the_report_and_a_torn_last_line_does_not(
    tmp_path: Path,
) -> None:
    make_archive(tmp_path, {"hover/1/a.bin": b"a", "hover/1/b.bin": b"b"})
    manifest = tmp_path / "manifest.jsonl"
    first, second = manifest.read_bytes().splitlines(keepends=True)

    manifest.write_bytes(first + b'{"path": "hover/1/c.bin", "status": 7}\n' + second)
    damaged = await verify_archive(tmp_path)
    assert damaged.unreadable == ["manifest.jsonl line 2 is not a manifest entry"]
    assert damaged.verified == 2 and not damaged.ok

    manifest.write_bytes(first + second + b'{"path": "hover/1/c.bin", "sta')
    torn = await verify_archive(tmp_path)
    assert torn.unreadable == [] and torn.verified == 2 and torn.ok


async def test_what_is_not_an_archive_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="not an archive directory"):
        await verify_archive(tmp_path)
    with pytest.raises(ConfigurationError, match="OUT is not a directory"):
        await verify_archive(tmp_path / "absent")


@pytest.mark.parametrize("workers", [0, 1.5, True, "4"])
async def test_workers_must_be_a_whole_number_of_at_least_one(
    tmp_path: Path, workers: object
) -> None:
    make_archive(tmp_path, {"hover/1/a.bin": b"a"})
    with pytest.raises(ConfigurationError, match="workers must be a whole number of at least 1"):
        await verify_archive(tmp_path, workers=workers)  # type: ignore[arg-type]
