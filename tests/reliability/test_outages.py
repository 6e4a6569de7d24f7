"""Outages and stalls through whole archive runs: what a user sees, what the servers saw.

A storage outage shorter than ``--max-outage`` is ridden out (exit 0, every file, the wait in
the summary); a longer one fails the rest cleanly and a rerun fetches only what was missing;
stalled bodies are cut and resumed without holding the run for a read timeout.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from hoverbentley.archive import ArchiveOptions, archive
from hoverbentley.archive.hover_source import HoverSource
from hoverbentley.emulator import Emulator, EmulatorConfig, FaultConfig, Outage
from tests.support import fast, hover_archive, hover_client, hover_env

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
KiB = 1024
SIZES = {
    "image": (64 * KiB, 256 * KiB),
    "measurements": (8 * KiB, 32 * KiB),
    "cad_exports": (8 * KiB, 32 * KiB),
}
# Slow bodies keep the run going long enough for an outage to land in the middle of it.
SLOW = FaultConfig(slow=1.0, slow_delay=0.02)


def _complete(out: Path, emu: Emulator) -> None:
    expected = {f.url: f.sha256 for f in emu.expected_files()}
    entries = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines() if x]
    ok = {e["url"]: e for e in entries if e["status"] == "ok" and e["kind"] != "job"}
    assert set(ok) == set(expected)
    for url, entry in ok.items():
        assert hashlib.sha256((out / entry["path"]).read_bytes()).hexdigest() == expected[url]
    assert not list(out.rglob("*.part*"))  # no part file, no resume state


async def test_a_20_s_storage_outage_mid_run_is_ridden_out(tmp_path: Path) -> None:
    outage = Outage("storage", seconds=20, after_requests=12, mode="reset")
    config = EmulatorConfig(jobs=4, sizes=SIZES, faults=SLOW, outages=(outage,))
    out = tmp_path / "out"
    async with Emulator(config) as emu:
        http = fast(max_retries=5, max_outage=120)
        async with hover_client(emu, http=http) as client:
            summary = await archive(
                HoverSource(client, archived=True), out, ArchiveOptions(concurrency=8, retries=0)
            )
        rejected = emu.counters.outage_rejections["storage"]
        _complete(out, emu)
    assert summary.ok and summary.failed == 0
    assert summary.outage_seconds >= 10  # the wait is reported
    # Held requests did not hammer the host: one probe at a time, capped back-off.
    assert 8 <= rejected < 80, rejected


def test_an_outage_longer_than_the_limit_fails_cleanly_and_a_rerun_finishes(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    outage = Outage("storage", seconds=None, after_requests=10, mode="reset")
    config = EmulatorConfig(jobs=3, sizes=SIZES, faults=SLOW, outages=(outage,))
    with Emulator.threaded(config) as emu:
        env = hover_env(emu)
        flags = ["--all", "--requests-per-minute", "0", "--retries", "0", "--max-retries", "2"]
        first = subprocess.run(
            hover_archive(out, *flags, "--max-outage", "2"),
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert first.returncode == 1, first.stderr
        assert "Traceback" not in first.stderr
        assert "has not answered for" in first.stdout  # the failed files say why
        lines = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines() if x]
        done = {e["path"] for e in lines if e["status"] == "ok" and e["kind"] != "job"}
        failed = {e["path"] for e in lines if e["status"] == "failed"}
        assert done and failed

        emu.end_outage()
        before = len(emu.requests_to("storage"))
        rerun = subprocess.run(
            hover_archive(out, *flags), capture_output=True, text=True, env=env, timeout=120
        )
        assert rerun.returncode == 0, rerun.stderr
        fetched = len(emu.requests_to("storage")) - before
        expected = emu.expected_files()
        assert fetched == len(expected) - len(done)  # only what was missing, once each
        _complete(out, emu)


async def test_stalled_bodies_are_cut_and_resumed(tmp_path: Path) -> None:
    stalls = FaultConfig(stall=0.15, stall_seconds=60, stall_after=0.5, seed=3)
    # Files above one write batch (1 MiB), so a stalled body leaves a partial file to resume.
    big = {**SIZES, "image": (1536 * KiB, 2048 * KiB)}
    config = EmulatorConfig(jobs=2, sizes=big, faults=stalls)
    out = tmp_path / "out"
    async with Emulator(config) as emu:
        # 2 s: long against a loaded machine's pauses, short against the 60 s stall.
        async with hover_client(emu, http=fast(stall_timeout=2.0, max_retries=5)) as client:
            summary = await archive(
                HoverSource(client, archived=True), out, ArchiveOptions(concurrency=8, retries=0)
            )
        stalled = emu.counters.stalls["storage"]
        resumed = emu.counters.ranged["storage", 206]
        requests = len(emu.requests_to("storage"))
        files = len(emu.expected_files())
        _complete(out, emu)
    assert summary.ok
    assert stalled > 0
    # A stall costs one more request, no more (cut after 2 s, not after the 60 s stall), and
    # the partial bodies were resumed from where they stopped (206), not fetched again whole.
    assert requests <= files + stalled, (requests, files, stalled)
    assert resumed > 0
