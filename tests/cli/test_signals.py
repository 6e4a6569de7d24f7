"""A real ``hoverbentley hover archive`` process stopped by SIGTERM, then run again."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from hoverbentley.emulator import Emulator, EmulatorConfig, FaultConfig
from tests.archive.helpers import (
    SMALL_SIZES,
    KiB,
    MiB,
    assert_complete,
    disk_files,
    live_progress,
    partial_files,
    read_manifest,
)
from tests.support import HB

from .helpers import FAST, hb, hover_env

#: Big enough to stream through ``.part`` files, slow enough to be caught mid-run.
SIZES = {**SMALL_SIZES, "cad_exports": (1536 * KiB, 3 * MiB)}
SLOW = FaultConfig(slow=1.0, slow_delay=0.01)
META = ("manifest.jsonl", "index.csv")


def _wait_until_some_files_are_complete(proc: subprocess.Popen[str], out: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the run ended (status {proc.returncode}) before it could be stopped")
        done, _, parts = live_progress(out)
        if done >= 2 and parts:
            return
        time.sleep(0.02)
    proc.kill()
    proc.communicate()
    pytest.fail("the run did not get far enough in time")


@pytest.mark.slow
def test_sigterm_cleans_up_exits_143_and_a_rerun_completes(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with Emulator.threaded(EmulatorConfig(jobs=3, sizes=SIZES, faults=SLOW)) as emu:
        env = hover_env(emu)
        proc = subprocess.Popen(
            [*HB, "hover", "archive", str(out), "--all", "--concurrency", "4", *FAST],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        _wait_until_some_files_are_complete(proc, out)
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=30)

        assert proc.returncode == 143, stderr
        assert "Traceback" not in stderr
        assert stderr.strip().splitlines()[-1] == (
            "hoverbentley: terminated (SIGTERM); run the same command again to resume"
        )
        assert stdout == ""
        assert any(s.startswith("stopped before the end: ") for s in stderr.splitlines())
        # The archive's cleanup ran: the index lists the jobs, every manifest line is whole.
        assert (out / "index.csv").exists()
        assert len((out / "index.csv").read_text().splitlines()) > 1
        lines = read_manifest(out, strict=True)
        done = {e["path"]: e["sha256"] for e in lines if e["status"] == "ok"}
        # Whatever sits at a final path is complete and recorded; the rest is in .part files.
        on_disk = disk_files(out)
        finals = {p: h for p, h in on_disk.items() if not p.endswith((".part", ".part.json"))}
        for path, digest in finals.items():
            if path not in META:
                assert done.get(path) == digest, path
        expected = [f for j in emu.job_ids(archived=False) for f in emu.expected_files(j)]
        assert len([p for p in done if not p.endswith("job.json")]) < len(expected)

        emu.faults.config = FaultConfig()
        rerun = hb("hover", "archive", out, "--all", "--json", "-q", *FAST, env=env)
        assert rerun.returncode == 0, rerun.stderr
        complete = assert_complete(out, emu, emu.job_ids(archived=False), expected=expected)
        for path, digest in finals.items():
            if path not in META:
                assert complete[path]["sha256"] == digest, path
        assert not partial_files(out)
