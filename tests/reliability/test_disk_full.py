"""A full disk stops the run with a clear message; a rerun with space finishes the archive."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hoverbentley.emulator import Emulator, EmulatorConfig
from tests.services import REQUIRE
from tests.support import hover_archive, hover_env

KiB = 1024


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs (needs root: CI runs as root)."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        message = f"cannot mount a small tmpfs here: {result.stderr.strip()}"
        if REQUIRE:
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


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
    with Emulator.threaded(EmulatorConfig(jobs=4, sizes=sizes)) as emu:
        expected = {f.url: f.sha256 for f in emu.expected_files()}
        assert sum(f.size for f in emu.expected_files()) > 2 * 1024 * KiB

        first = _archive(emu, out)
        assert first.returncode == 1
        assert "no space left" in first.stderr.lower()
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
