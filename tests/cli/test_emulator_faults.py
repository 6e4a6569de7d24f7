"""``hoverbentley emulator --faults … --latency …``: rehearse failures from the command line."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.processes import free_port, running
from tests.support import HB

from .helpers import FAST, error_line, hb, hover_env


def test_faults_from_the_command_line_reach_the_client(tmp_path: Path) -> None:
    port = free_port()
    command = [
        *HB,
        "emulator",
        "--port",
        str(port),
        "--jobs",
        "1",
        "--faults",
        "503=1",
        "--fault-targets",
        "api",
        "--latency",
        "0.01-0.02",
    ]
    with running(command, port, tmp_path / "emulator.log"):
        result = hb(
            "hover",
            "jobs",
            "--max-retries",
            "0",
            *FAST,
            env=hover_env(None, HOVER_BASE_URL=f"http://127.0.0.1:{port}"),
        )
    assert result.returncode == 1, result.stderr
    assert "HTTP 503" in error_line(result)
    banner = (tmp_path / "emulator.log").read_text()
    assert "Faults       503 100% on the api hosts; latency 0.01-0.02 s (seed 7)" in banner


def test_a_fault_it_does_not_know_is_a_usage_error_listing_those_it_does() -> None:
    result = subprocess.run(
        [*HB, "emulator", "--faults", "504=0.1"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "not a fault: '504=0.1'" in result.stderr and "503, 429, reset" in result.stderr
