"""``--bwlimit``: a rate as rclone writes it, applied to a whole run."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from hoverbentley.emulator import Emulator, EmulatorConfig
from tests.cli.helpers import hb
from tests.support import hover_env

EMULATOR = EmulatorConfig(jobs=2)


@pytest.mark.parametrize("rate", ["fast", "-5M", "12Q"])
def test_a_rate_that_is_not_one_is_a_usage_error(rate: str, tmp_path: Path) -> None:
    done = hb("hover", "archive", tmp_path / "out", "--all", f"--bwlimit={rate}")
    assert done.returncode == 2
    assert "--bwlimit" in done.stderr and ("not a rate" in done.stderr or "negative" in done.stderr)


def test_a_limited_run_archives_every_file(emu_thread: Emulator, tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = hb(
        "hover",
        "archive",
        out,
        "--all",
        "--json",
        "--bwlimit",
        "64M",
        "--requests-per-minute",
        "0",
        env=hover_env(emu_thread),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    expected = {f.url: f.sha256 for f in emu_thread.expected_files()}
    assert summary["downloaded"] == len(expected) and summary["failed"] == 0
    lines = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines() if x]
    for entry in lines:
        if entry["kind"] != "job":
            digest = hashlib.sha256((out / entry["path"]).read_bytes()).hexdigest()
            assert digest == expected[entry["url"]]
