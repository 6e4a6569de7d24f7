"""``hoverbentley manifest merge OUT``: the shards' parts become one compacted manifest."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import msgspec
import obstore
import pytest

from hoverbentley.archive import ArchiveOptions, archive
from hoverbentley.archive.hover_source import HoverSource
from tests.archive.test_archive import client, emulator
from tests.support import HB, cli_env

from .conftest import Store
from .helpers import manifest_lines, objects, open_store

pytestmark = pytest.mark.anyio


def merge(out: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HB, "manifest", "merge", out, "--json"],
        env=cli_env(**(env or {})),
        capture_output=True,
        text=True,
        timeout=60,
    )


def one_line_per_path(manifest: bytes) -> dict[str, dict[str, object]]:
    lines = [msgspec.json.decode(line) for line in manifest.splitlines()]
    paths = [line["path"] for line in lines]
    assert len(paths) == len(set(paths))
    return {line.pop("path"): {**line, "completed_at": None} for line in lines}


async def test_merge_of_two_shard_parts_in_a_store_is_the_single_machine_manifest(
    store: Store, tmp_path: Path
) -> None:
    async with emulator(jobs=6) as emu:
        local = tmp_path / "local"
        async with client(emu) as hover:
            await archive(HoverSource(hover, archived=True), local, ArchiveOptions())
            for k in range(2):
                source = HoverSource(hover, archived=True)
                summary = await archive(source, store.url(), ArchiveOptions(), shard=(k, 2))
                assert summary.ok and summary.jobs > 0

    before = objects(store)
    parts = sorted(k for k in before if k.startswith("manifests/"))
    assert parts == ["manifests/shard-00000-of-00002.jsonl", "manifests/shard-00001-of-00002.jsonl"]
    assert "manifest.jsonl" not in before  # a shard writes its part only

    result = merge(store.url(), store.env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["parts"] == parts and report["failed"] == 0

    after = objects(store)
    merged = one_line_per_path(after["manifest.jsonl"])
    expected = one_line_per_path((local / "manifest.jsonl").read_bytes())
    assert merged == expected and report["files"] == len(expected)
    assert after["index.csv"] == (local / "index.csv").read_bytes()
    assert report["jobs"] == len(emu.job_ids())
    assert {k: after[k] for k in parts} == {k: before[k] for k in parts}  # the parts stay


def split_into_parts(local: Path, out: Path) -> dict[str, dict[str, object]]:
    """Copy archive ``local`` to ``out`` with its manifest and index as two shards' parts,
    one path failed in the first part and complete, later, in the second."""
    shutil.copytree(local, out)
    lines = (out / "manifest.jsonl").read_bytes().splitlines()
    (out / "manifest.jsonl").unlink()
    (out / "manifests").mkdir()
    half = len(lines) // 2
    failed = msgspec.json.decode(lines[-1])
    failed.update(status="failed", error="HTTP 500", completed_at=failed["completed_at"] - 60)
    failed.pop("sha256")
    first = [*lines[:half], msgspec.json.encode(failed)]
    (out / "manifests/shard-00000-of-00002.jsonl").write_bytes(b"\n".join(first) + b"\n")
    (out / "manifests/shard-00001-of-00002.jsonl").write_bytes(b"\n".join(lines[half:]) + b"\n")
    rows = (out / "index.csv").read_bytes().splitlines(keepends=True)
    (out / "index.csv").unlink()
    (out / "indexes").mkdir()
    (out / "indexes/shard-00000-of-00002.csv").write_bytes(b"".join([rows[0], *rows[1::2]]))
    (out / "indexes/shard-00001-of-00002.csv").write_bytes(b"".join([rows[0], *rows[2::2]]))
    return manifest_lines(local)


async def test_merge_in_a_directory_keeps_the_newest_line_and_verify_then_passes(
    tmp_path: Path,
) -> None:
    async with emulator(jobs=4) as emu, client(emu) as hover:
        await archive(HoverSource(hover, archived=True), tmp_path / "local", ArchiveOptions())
    out = tmp_path / "out"
    expected = split_into_parts(tmp_path / "local", out)
    # Before the merge, verify reads the parts as one manifest already.
    before = hb_run("verify", str(out), "--json")
    assert before.returncode == 0, before.stdout + before.stderr
    assert json.loads(before.stdout)["verified"] == len(expected)

    result = merge(str(out))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["lines"] == len(expected) + 1
    assert manifest_lines(out) == expected
    assert len((out / "manifest.jsonl").read_bytes().splitlines()) == len(expected)
    assert (out / "index.csv").read_bytes() == (tmp_path / "local/index.csv").read_bytes()
    assert not list(out.glob("*.tmp"))

    verify = subprocess.run(
        [*HB, "verify", str(out)], env=cli_env(), capture_output=True, text=True, timeout=60
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr


#: Two shards' parts, the second with a line that is no entry (its line 2).
DAMAGED_LINE = "manifests/shard-00001-of-00002.jsonl line 2 is not a manifest entry"


def damaged_parts() -> dict[str, bytes]:
    lines = [
        msgspec.json.encode(
            {"path": f"hover/1/{n}", "url": "u", "job_id": "1", "kind": "k", "status": "failed"}
        )
        + b"\n"
        for n in "abc"
    ]
    return {
        "manifests/shard-00000-of-00002.jsonl": lines[0],
        "manifests/shard-00001-of-00002.jsonl": (
            lines[1] + b'{"path": "hover/1/x", "status": [1]}\n' + lines[2]
        ),
    }


def hb_run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HB, *args], env=cli_env(**(env or {})), capture_output=True, text=True, timeout=60
    )


def test_a_damaged_line_stops_a_merge_unless_partial_is_allowed(tmp_path: Path) -> None:
    for key, data in damaged_parts().items():
        (tmp_path / key).parent.mkdir(exist_ok=True)
        (tmp_path / key).write_bytes(data)

    verify = hb_run("verify", str(tmp_path))
    assert verify.returncode == 1
    assert f"damaged: {DAMAGED_LINE}" in verify.stdout.splitlines()

    refused = merge(str(tmp_path))
    assert refused.returncode == 1, refused.stderr
    assert refused.stderr.splitlines()[-1] == (
        f"hoverbentley: error: {DAMAGED_LINE}; nothing was merged"
        " (--allow-partial merges without them)"
    )
    assert not (tmp_path / "manifest.jsonl").exists()

    allowed = hb_run("manifest", "merge", str(tmp_path), "--allow-partial")
    assert allowed.returncode == 0, allowed.stderr
    assert (
        allowed.stdout.splitlines()[0] == f"{DAMAGED_LINE}: left out (allowed by --allow-partial)"
    )
    merged = (tmp_path / "manifest.jsonl").read_bytes().splitlines()
    assert [msgspec.json.decode(m)["path"] for m in merged] == [f"hover/1/{n}" for n in "abc"]


def test_a_damaged_line_in_a_store_stops_its_merge_and_fails_verify(s3: Store) -> None:
    handle = open_store(s3)
    for key, data in damaged_parts().items():
        obstore.put(handle, key, data)

    verify = hb_run("verify", s3.url(), "--allow-partial", env=s3.env)
    assert verify.returncode == 1, verify.stderr
    assert f"damaged: {DAMAGED_LINE}" in verify.stdout.splitlines()

    refused = merge(s3.url(), s3.env)
    assert refused.returncode == 1, refused.stderr
    assert DAMAGED_LINE in refused.stderr.splitlines()[-1]
    assert "manifest.jsonl" not in objects(s3)


def test_merge_of_what_is_not_an_archive_is_a_usage_error(tmp_path: Path) -> None:
    result = merge(str(tmp_path))
    assert result.returncode == 2
    assert "not an archive" in result.stderr and len(result.stderr.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_merge_of_an_empty_bucket_is_a_usage_error(s3: Store) -> None:
    result = merge(s3.url(), s3.env)
    assert result.returncode == 2, result.stderr
    assert "not an archive" in result.stderr
    assert objects(s3) == {}
