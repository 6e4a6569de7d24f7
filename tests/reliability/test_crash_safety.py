"""SIGKILL the archive at random points, again and again: the end result equals a clean run."""

from __future__ import annotations

import hashlib
import json
import random
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from hoverbentley.emulator import Emulator, EmulatorConfig, FaultConfig
from tests.support import hover_archive, hover_env

pytestmark = pytest.mark.slow
KiB = 1024
MiB = 1024 * KiB


def _command(emu: Emulator, out: Path) -> tuple[list[str], dict[str, str]]:
    env = hover_env(emu)
    command = hover_archive(
        out,
        "--all",
        "--archived",
        "--json",
        "-q",
        "--requests-per-minute",
        "0",
        "--concurrency",
        "4",
    )
    return command, env


def _finished(out: Path) -> int:
    """How many files the archive's manifest records so far."""
    try:
        return (out / "manifest.jsonl").read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def _files(out: Path) -> dict[str, str]:
    return {
        str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in out.rglob("*")
        if p.is_file()
        and p.name not in ("manifest.jsonl", "index.csv")
        and not p.relative_to(out).as_posix().startswith(".hoverbentley/")  # the run's lock
    }


def test_repeated_sigkill_then_rerun_equals_a_clean_run(tmp_path: Path) -> None:
    rng = random.Random(5)
    sizes = {
        "image": (64 * KiB, 256 * KiB),
        "measurements": (32 * KiB, 512 * KiB),
        "cad_exports": (1 * MiB, 3 * MiB),
    }
    # Slow bodies now and then keep the run going long enough to be killed mid-file.
    config = EmulatorConfig(
        jobs=6, sizes=sizes, faults=FaultConfig(slow=0.3, slow_delay=0.02, seed=3)
    )
    crashed, clean = tmp_path / "crashed", tmp_path / "clean"
    with Emulator.threaded(config) as emu:
        command, env = _command(emu, crashed)
        kills = 0
        for _ in range(5):
            proc = subprocess.Popen(
                command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            # Killed after a random number of further files, at a random moment in between:
            # progress rather than time decides, so a faster machine cannot outrun the kills.
            target = _finished(crashed) + rng.randint(2, 8)
            while proc.poll() is None and _finished(crashed) < target:
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.15))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait()
        assert kills >= 3, "the runs ended before they could be killed: make them longer"
        final = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert final.returncode == 0, final.stderr[-2000:]

        command, env = _command(emu, clean)
        reference = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert reference.returncode == 0, reference.stderr[-2000:]

    crashed_files = _files(crashed)
    assert crashed_files == _files(clean)
    assert not [p for p in crashed_files if p.endswith((".part", ".part.json"))]

    good = []
    for line in (crashed / "manifest.jsonl").read_text().splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line torn by SIGKILL is ignored, as the archive itself does
        if entry.get("status") == "ok":
            good.append(entry["path"])
    counts = Counter(good)
    assert set(counts) == set(crashed_files)
    assert max(counts.values()) == 1
