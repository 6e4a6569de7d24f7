"""One writer at a time in a local OUT: a second run (or a merge) is refused, naming the
first, and the first run's files come out whole."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from hoverbentley.emulator import Emulator, EmulatorConfig, FaultConfig
from tests.archive.helpers import SMALL_SIZES, KiB, MiB, assert_complete, live_progress
from tests.support import HB

from .helpers import FAST, hb, hover_env

SIZES = {**SMALL_SIZES, "cad_exports": (1536 * KiB, 3 * MiB)}
SLOW = FaultConfig(slow=1.0, slow_delay=0.01)


@pytest.mark.slow
def test_a_second_run_into_the_same_out_is_refused_while_the_first_writes(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    with Emulator.threaded(EmulatorConfig(jobs=3, sizes=SIZES, faults=SLOW)) as emu:
        env = hover_env(emu)
        first = subprocess.Popen(
            [*HB, "hover", "archive", str(out), "--all", "--concurrency", "4", *FAST],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 60
            while live_progress(out)[0] < 1:  # the first run is writing
                assert first.poll() is None, "the first run ended before a second could start"
                assert time.monotonic() < deadline, "the first run wrote nothing in time"
                time.sleep(0.02)
            second = hb("hover", "archive", out, "--all", *FAST, env=env)
            merged = hb("manifest", "merge", out, env=env)
        finally:
            _, stderr = first.communicate(timeout=120)
        assert first.returncode == 0, stderr
        for refused in (second, merged):
            assert refused.returncode == 1, refused.stderr
            (line,) = refused.stderr.strip().splitlines()
            assert line.startswith(
                f"hoverbentley: error: another run is writing into {out} (process {first.pid} on "
            ), line
            assert line.endswith(
                ": hoverbentley hover archive): wait for it to end, or archive into another"
                " directory"
            ), line
        assert_complete(out, emu, emu.job_ids(archived=False))
        again = hb("hover", "archive", out, "--all", *FAST, env=env)  # the lock went with it
        assert again.returncode == 0, again.stderr
