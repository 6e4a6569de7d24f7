"""One writer at a time in a local OUT: a second run (or a merge) is refused, naming the
first, and the first run's files come out whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from hoverbentley.emulator import Emulator, EmulatorConfig
from tests.archive.helpers import assert_complete

from .helpers import FAST, hb, hover_env
from .test_signals import SIZES, SLOW, archive_under_way


@pytest.mark.slow
def test_a_second_run_into_the_same_out_is_refused_while_the_first_writes(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    with Emulator.threaded(EmulatorConfig(jobs=3, sizes=SIZES, faults=SLOW)) as emu:
        env = hover_env(emu)
        first = archive_under_way(emu, out, env=env)
        try:
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
