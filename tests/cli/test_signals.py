"""A real ``hoverbentley hover archive`` process stopped by SIGTERM, then run again."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
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


def archive_under_way(
    emu: Emulator, out: Path, *extra: str, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """``hover archive OUT --all`` in a process of its own, once it has completed some files
    and has parts in progress: a run to stop, or to meet."""
    proc = subprocess.Popen(
        [*HB, "hover", "archive", str(out), "--all", "--concurrency", "4", *extra, *FAST],
        env=env or hover_env(emu),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the run ended (status {proc.returncode}) before it could be stopped")
        done, _, parts = live_progress(out)
        if done >= 2 and parts:
            return proc
        time.sleep(0.02)
    proc.kill()
    proc.communicate()
    pytest.fail("the run did not get far enough in time")


@pytest.mark.slow
def test_sigterm_cleans_up_exits_143_and_a_rerun_completes(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with Emulator.threaded(EmulatorConfig(jobs=3, sizes=SIZES, faults=SLOW)) as emu:
        env = hover_env(emu)
        proc = archive_under_way(emu, out, env=env)
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=30)

        assert proc.returncode == 143, stderr
        assert "Traceback" not in stderr
        said = stderr.strip().splitlines()
        assert said[-1].startswith("hoverbentley: terminated (SIGTERM) after ")
        assert said[-1].endswith("; run the same command again to resume")
        # One message per interruption: never "interrupted" and "terminated" both.
        assert not [line for line in said if "interrupted" in line]
        assert len([line for line in said if "terminated" in line]) == 1
        assert stdout == ""
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


@pytest.mark.slow
@pytest.mark.parametrize("sent", [signal.SIGTERM, signal.SIGINT])
def test_json_prints_the_summary_of_a_stopped_run(tmp_path: Path, sent: signal.Signals) -> None:
    out = tmp_path / "out"
    with Emulator.threaded(EmulatorConfig(jobs=3, sizes=SIZES, faults=SLOW)) as emu:
        proc = archive_under_way(emu, out, "--json")
        proc.send_signal(sent)
        stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == (143 if sent == signal.SIGTERM else 130), stderr
    (line,) = stdout.splitlines()
    summary = json.loads(line)
    assert summary["interrupted"] is True and summary["downloaded"] >= 2


@pytest.mark.slow
def test_the_second_sigterm_of_gnu_timeout_does_not_cut_the_stop_short(tmp_path: Path) -> None:
    """``timeout`` signals the process, then its group: two SIGTERMs, the second one while
    the first stop is under way, or later. Neither may kill the run before its summary."""
    out = tmp_path / "out"
    with Emulator.threaded(EmulatorConfig(jobs=3, sizes=SIZES, faults=SLOW)) as emu:
        proc = archive_under_way(emu, out, "--json")
        proc.send_signal(signal.SIGTERM)
        for _ in range(20):
            time.sleep(0.01)
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 143, stderr
    assert stderr.strip().splitlines()[-1].startswith("hoverbentley: terminated (SIGTERM) after ")
    assert json.loads(stdout)["interrupted"] is True
    assert len((out / "index.csv").read_text().splitlines()) > 1


def test_ctrl_c_on_a_read_only_command_does_not_speak_of_resuming() -> None:
    # A listing that never answers, stopped by Ctrl-C.
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    try:
        proc = subprocess.Popen(
            [*HB, "hover", "jobs", "--base-url", f"http://127.0.0.1:{port}", *FAST],
            env=hover_env(None),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        conn, _ = listener.accept()  # the request arrived: the command is waiting for us
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
        conn.close()
    finally:
        listener.close()
    assert proc.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == "hoverbentley: interrupted (Ctrl-C)"


#: The command line, with Ctrl-C landing while it is still being imported (an import hook
#: makes the moment certain).
_CTRL_C_WHILE_LOADING = """
import sys

class CtrlC:
    def find_spec(self, name, path=None, target=None):
        if name == "hoverbentley.cli.hover":
            raise KeyboardInterrupt
        return None

sys.meta_path.insert(0, CtrlC())
from hoverbentley.console import main
sys.exit(main())
"""


def test_ctrl_c_while_the_command_line_loads_is_one_line_and_130() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _CTRL_C_WHILE_LOADING, "hover", "jobs"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 130, result.stderr
    assert result.stderr == "hoverbentley: interrupted (Ctrl-C)\n"
