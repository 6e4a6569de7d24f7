"""``hoverbentley bentley archive --outputs`` offline: job outputs come from the built-in blob
host, and every archived file equals the emulator's own record of the blob."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

from hoverbentley.emulator import Emulator, EmulatorConfig
from tests.support import HB, cli_env


def test_bentley_outputs_archive_offline_and_match_the_emulator(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with Emulator.threaded(EmulatorConfig(jobs=0)) as emu:
        itwin = emu.itwin_ids[1]
        wanted = {
            output["id"]
            for job in emu.bentley_jobs()
            if job["iTwinId"] == itwin
            for output in job["jobSettings"]["outputs"]
            if output["format"] == "OBJ" and output["id"]
        }
        expected = {
            f"{b.output_id}/{b.name}": b.sha256 for i in wanted for b in emu.expected_blobs(i)
        }
        env = cli_env(
            BENTLEY_TOKEN=emu.config.bentley.token,
            BENTLEY_BASE_URL=emu.reality_modeling_url,
            BENTLEY_REALITY_URL=emu.reality_management_url,
        )
        command = [*HB, "bentley", "archive", str(out), "--filter", f"iTwinId eq {itwin}"]
        result = subprocess.run(
            [*command, "--outputs", "OBJ", "--json"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        listings = emu.requests_to("blob", "comp=list")
    assert result.returncode == 0, result.stderr
    assert wanted and listings, "the run must have listed the built-in containers"
    assert json.loads(result.stdout)["downloaded"] == len(expected)
    got = {  # OUT/bentley/JOB/outputs/OUTPUT/NAME
        path.relative_to(base).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for base in out.glob("bentley/*/outputs")
        for path in base.rglob("*")
        if path.is_file()
    }
    assert got == expected
