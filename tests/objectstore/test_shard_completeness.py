"""A shard that never ran is named by ``manifest merge`` and ``verify``, which fail for it
unless ``--allow-partial``; a shard that ran with no jobs still leaves its part."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from hoverbentley.archive import archive
from hoverbentley.archive.hover_source import HoverSource
from hoverbentley.archive.manifest import ManifestEntry, encode_entry
from tests.archive.test_archive import client, emulator
from tests.support import HB, cli_env

from .conftest import Store
from .helpers import objects

pytestmark = pytest.mark.anyio

MISSING = "shard 1 of 3 is missing: manifests/shard-00001-of-00003.jsonl"


def hb(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HB, *args], env=cli_env(**(env or {})), capture_output=True, text=True, timeout=60
    )


async def test_a_shard_with_no_jobs_still_writes_its_manifest_part(s3: Store) -> None:
    shards = 8
    async with emulator(jobs=1) as emu, client(emu) as hover:
        summaries = [
            await archive(HoverSource(hover, archived=True), s3.url(), shard=(k, shards))
            for k in range(shards)
        ]
    assert 0 in [s.jobs for s in summaries]  # more shards than jobs
    parts = sorted(k for k in objects(s3) if k.startswith("manifests/"))
    assert parts == [f"manifests/shard-{k:05d}-of-{shards:05d}.jsonl" for k in range(shards)]
    merged = hb("manifest", "merge", s3.url(), env=s3.env)
    assert merged.returncode == 0, merged.stderr
    assert merged.stdout.startswith(f"merged {shards} parts into ")


async def test_merge_and_verify_name_a_shard_that_never_ran(s3: Store) -> None:
    async with emulator(jobs=6) as emu, client(emu) as hover:
        for k in (0, 2):  # shard 1 of 3 never runs
            summary = await archive(HoverSource(hover, archived=True), s3.url(), shard=(k, 3))
            assert summary.ok and summary.jobs > 0

    merge = hb("manifest", "merge", s3.url(), env=s3.env)
    assert merge.returncode == 1, merge.stdout + merge.stderr
    assert merge.stderr == f"hoverbentley: error: {MISSING}\n" and merge.stdout == ""
    assert "manifest.jsonl" not in objects(s3)  # nothing merged

    verify = hb("verify", s3.url(), env=s3.env)
    assert verify.returncode == 1, verify.stdout + verify.stderr
    lines = verify.stdout.splitlines()
    assert lines[0] == MISSING
    assert lines[-1].endswith(": 0 missing, 0 changed, 0 extra, 0 failed")  # the rest is whole
    as_json = hb("verify", s3.url(), "--json", env=s3.env)
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout)["shard_problems"] == [MISSING]

    merge = hb("manifest", "merge", s3.url(), "--allow-partial", env=s3.env)
    assert merge.returncode == 0, merge.stderr
    first, second = merge.stdout.splitlines()
    assert first == f"{MISSING} (allowed by --allow-partial)"
    assert second.startswith("merged 2 parts into ")
    assert "manifest.jsonl" in objects(s3)

    verify = hb("verify", s3.url(), "--allow-partial", env=s3.env)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert verify.stdout.splitlines()[0] == f"{MISSING} (allowed by --allow-partial)"
    # Merged or not, the parts still say a shard is missing.
    assert hb("verify", s3.url(), env=s3.env).returncode == 1


def test_in_a_directory_too(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "hover").mkdir(parents=True)
    (out / "hover/a.txt").write_bytes(b"a")
    line = encode_entry(
        ManifestEntry(
            path="hover/a.txt",
            url="https://example.invalid/a.txt",
            size=1,
            job_id="1",
            kind="file",
            sha256="ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb",
            status="ok",
        )
    )
    (out / "manifests").mkdir()
    for k in (0, 2):
        (out / f"manifests/shard-{k:05d}-of-00003.jsonl").write_bytes(line if k == 0 else b"")

    merge = hb("manifest", "merge", str(out))
    assert merge.returncode == 1 and merge.stderr == f"hoverbentley: error: {MISSING}\n"
    assert not (out / "manifest.jsonl").exists()
    assert hb("manifest", "merge", str(out), "--allow-partial").returncode == 0
    verify = hb("verify", str(out))
    assert verify.returncode == 1 and verify.stdout.splitlines()[0] == MISSING
    verify = hb("verify", str(out), "--allow-partial")
    assert verify.returncode == 0, verify.stdout + verify.stderr
