"""A full disk stops the run with a clear message; a rerun with space finishes the archive.

Which write meets the full disk first, a file's or the manifest's, used to depend on timing;
each test below decides it: the first reserves the manifest's space in advance so a file's
write is the one refused, the second leaves room for the job record alone so the manifest's
append is.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hoverbentley.emulator import Emulator, EmulatorConfig
from tests.support import hover_archive, hover_env, small_tmpfs

KiB = 1024


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs (needs root: CI runs as root)."""
    with small_tmpfs(tmp_path / "disk", "1m") as mount_point:
        yield mount_point


PAGE = 4096


def _reserve_manifest(out: Path, size: int = 256 * 1024) -> None:
    """Create an empty manifest whose next ``size`` bytes are already allocated
    (``fallocate --keep-size``): appending lines to it cannot meet the full disk."""
    out.mkdir()
    (out / "manifest.jsonl").touch()
    subprocess.run(
        ["fallocate", "--keep-size", "-l", str(size), str(out / "manifest.jsonl")], check=True
    )


def _fill(disk: Path, leave_pages: int) -> None:
    """Fill ``disk`` with page-sized files until exactly ``leave_pages`` pages are free."""
    filler = disk / "filler"
    filler.mkdir()
    n = 0
    try:
        while True:
            (filler / str(n)).write_bytes(b"\0" * PAGE)
            n += 1
    except OSError:
        pass
    for i in range(n, n - leave_pages - 2, -1):  # the partial last one, and leave_pages more
        (filler / str(i)).unlink(missing_ok=True)
    while (free := os.statvfs(disk).f_bavail) > leave_pages:
        (filler / str(n := n + 1)).write_bytes(b"\0" * PAGE)
    assert free == leave_pages, free


def _manifest(out: Path) -> list[dict[str, Any]]:
    """The manifest's whole lines (a line cut short by the full disk is skipped, as on load)."""
    entries = []
    for line in (out / "manifest.jsonl").read_text().splitlines():
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return entries


def _archive(emu: Emulator, out: Path) -> subprocess.CompletedProcess[str]:
    env = hover_env(emu)
    return subprocess.run(
        hover_archive(out, "--all", "--json", "--requests-per-minute", "0"),
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_disk_full_then_rerun_with_space(small_disk: Path) -> None:
    sizes = {
        "image": (40 * KiB, 60 * KiB),
        "measurements": (20 * KiB, 40 * KiB),
        "cad_exports": (60 * KiB, 90 * KiB),
    }
    out = small_disk / "out"
    _reserve_manifest(out)
    with Emulator.threaded(EmulatorConfig(jobs=4, sizes=sizes)) as emu:
        expected = {f.url: f.sha256 for f in emu.expected_files()}
        assert sum(f.size for f in emu.expected_files()) > 2 * 1024 * KiB

        first = _archive(emu, out)
        assert first.returncode == 1
        assert f"no space left on the device while writing {out}/hover/" in first.stderr
        assert "Traceback" not in first.stderr
        kept = _manifest(out)
        for entry in kept:
            if entry["status"] == "ok" and entry["kind"] != "job":
                data = (out / entry["path"]).read_bytes()
                assert hashlib.sha256(data).hexdigest() == expected[entry["url"]]

        subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
        storage_before = len(emu.requests_to("storage"))
        second = _archive(emu, out)
        assert second.returncode == 0, second.stderr[-2000:]
        fetched_again = len(emu.requests_to("storage")) - storage_before

    summary = json.loads(second.stdout)
    assert summary["failed"] == 0
    entries = _manifest(out)
    latest = {e["path"]: e for e in entries}
    got = {e["url"]: e for e in latest.values() if e["kind"] != "job" and e["status"] == "ok"}
    assert set(got) == set(expected)
    for url, entry in got.items():
        assert hashlib.sha256((out / entry["path"]).read_bytes()).hexdigest() == expected[url]
    complete_before = sum(1 for e in kept if e["status"] == "ok" and e["kind"] != "job")
    assert fetched_again <= len(expected) - complete_before + 5
    assert not list(out.rglob("*.part"))


def test_disk_full_on_the_manifest_write_is_the_same_clear_error(small_disk: Path) -> None:
    out = small_disk / "out"
    with Emulator.threaded(EmulatorConfig(jobs=0)) as emu:
        job_id = 15254733
        record = json.dumps(emu.job_payload(job_id)).encode()
        # Room for the job record (whatever its exact bytes, it takes as many pages) and the
        # note of who holds OUT's lock (.hoverbentley/run.json), not for the manifest.
        _fill(small_disk, leave_pages=-(-len(record) // PAGE) + 1)
        result = subprocess.run(
            hover_archive(out, "--job", str(job_id), "--requests-per-minute", "0"),
            capture_output=True,
            text=True,
            env=hover_env(emu),
            timeout=120,
        )
    assert (out / f"hover/{job_id}/job.json").exists(), result.stderr
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr
    assert "no space left on the device while writing" in result.stderr
